package peers

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Serve serves h on a new listener on 127.0.0.1 and returns its base URL
// and a function that shuts the server down.
func Serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	}
	return "http://" + l.Addr().String(), stop, nil
}

// LoadConfig bounds one run of the load generator.
type LoadConfig struct {
	URL    string
	Method string
	// Cookies are the Cookie headers of the clients: client i sends
	// Cookies[i % len(Cookies)]; none when empty.
	Cookies []string
	// Concurrency is the number of clients, each with its own keep-alive
	// connection, sending one request after the other.
	Concurrency int
	// Duration bounds the run's time; MaxRequests, when positive, its
	// number of requests. The run stops at whichever comes first.
	Duration    time.Duration
	MaxRequests int64
}

// LoadResult is what one run measured.
type LoadResult struct {
	Requests int64 // answered with a 2xx
	Errors   int64 // failed or answered otherwise
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// RPS is the rate of answered requests.
func (r LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Load runs cfg's clients until its bound, or ctx, stops them.
func Load(ctx context.Context, cfg LoadConfig) LoadResult {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		started atomic.Int64
		errs    atomic.Int64
		mu      sync.Mutex
		all     []time.Duration
		wg      sync.WaitGroup
	)
	begin := time.Now()
	for i := range cfg.Concurrency {
		cookie := ""
		if len(cfg.Cookies) > 0 {
			cookie = cfg.Cookies[i%len(cfg.Cookies)]
		}
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			lat := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				if cfg.MaxRequests > 0 && started.Add(1) > cfg.MaxRequests {
					break
				}
				req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, nil)
				if err != nil {
					errs.Add(1)
					break
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					errs.Add(1)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res := LoadResult{Requests: int64(len(all)), Errors: errs.Load(), Elapsed: time.Since(begin)}
	if len(all) > 0 {
		slices.Sort(all)
		res.P50 = all[len(all)*50/100]
		res.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return res
}
