package peers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

// Options sets the size of a run.
type Options struct {
	InProcRounds int           // interleaved rounds of in-process benchmarks
	BenchTime    time.Duration // per in-process benchmark
	LoadRounds   int           // interleaved rounds over loopback
	LoadDuration time.Duration // per app and route in each round
	Concurrency  int           // clients of the load generator
	StmtRequests int           // requests per statement count
	// Log prints progress; nil prints nothing.
	Log func(format string, args ...any)
}

func (o Options) log(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// Extra columns of the statement count, after the routes: the read route
// with a well-formed cookie naming no session (a forged token, replayed),
// and with a malformed one.
var ExtraSQL = []string{"forged cookie", "malformed cookie"}

// Results holds every sample of a run, by app, route and round.
type Results struct {
	Apps   []*App
	InProc [][][]InProc     // [app][route][round]
	Load   [][][]LoadResult // [app][route][round]
	SQL    [][]float64      // [app][route..., forged, malformed]
}

// rotated returns the indexes of n apps in the order of round r: every
// round starts one app later, so that each app meets the machine's noise
// at every position.
func rotated(n, r int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (i + r) % n
	}
	return order
}

// forgedToken is a well-formed token (32 random bytes, base64url) that no
// app issued.
func forgedToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Measure runs the statement counts, the in-process rounds and the
// loopback rounds over apps.
func Measure(ctx context.Context, apps []*App, opts Options) (*Results, error) {
	res := &Results{Apps: apps}
	n := len(apps)
	// Sessions: one for the in-process benchmarks and the counts, one per
	// client of the load generator.
	benchCookie := make([]string, n)
	loadCookies := make([][]string, n)
	for i, a := range apps {
		var err error
		if benchCookie[i], err = NewSession(a.Handler); err != nil {
			return nil, fmt.Errorf("%s: %w", a.Name, err)
		}
		for range opts.Concurrency {
			c, err := NewSession(a.Handler)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.Name, err)
			}
			loadCookies[i] = append(loadCookies[i], c)
		}
	}

	opts.log("statements per request (%d requests each)", opts.StmtRequests)
	res.SQL = make([][]float64, n)
	forged, malformed := "session="+forgedToken(), "session=not-a-session-token!"
	read := Routes[0]
	for i, a := range apps {
		for _, rt := range Routes {
			v, err := CountStatements(a, rt, benchCookie[i], opts.StmtRequests)
			if err != nil {
				return nil, err
			}
			res.SQL[i] = append(res.SQL[i], v)
		}
		for _, c := range []string{forged, malformed} {
			v, err := CountStatements(a, read, c, opts.StmtRequests)
			if err != nil {
				return nil, err
			}
			res.SQL[i] = append(res.SQL[i], v)
		}
		opts.log("  %-34s %v", a.Name, res.SQL[i])
	}

	res.InProc = make([][][]InProc, n)
	for i := range res.InProc {
		res.InProc[i] = make([][]InProc, len(Routes))
	}
	for r := range opts.InProcRounds {
		t0 := time.Now()
		for _, i := range rotated(n, r) {
			for j, rt := range Routes {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				v, err := BenchInProcess(apps[i].Handler, rt, benchCookie[i])
				if err != nil {
					return nil, fmt.Errorf("%s: %w", apps[i].Name, err)
				}
				res.InProc[i][j] = append(res.InProc[i][j], v)
			}
		}
		opts.log("in-process round %d/%d done in %v", r+1, opts.InProcRounds, time.Since(t0).Round(time.Second))
	}

	urls := make([]string, n)
	for i, a := range apps {
		u, stop, err := Serve(a.Handler)
		if err != nil {
			return nil, err
		}
		defer stop()
		urls[i] = u
	}
	res.Load = make([][][]LoadResult, n)
	for i := range res.Load {
		res.Load[i] = make([][]LoadResult, len(Routes))
	}
	for r := range opts.LoadRounds {
		t0 := time.Now()
		for _, i := range rotated(n, r) {
			for j, rt := range Routes {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				cfg := LoadConfig{URL: urls[i] + rt.Path, Method: rt.Method, Concurrency: opts.Concurrency, Duration: opts.LoadDuration}
				if rt.Session {
					cfg.Cookies = loadCookies[i]
				}
				v := Load(ctx, cfg)
				if v.Errors > 0 {
					opts.log("  %s %s: %d errors", apps[i].Name, rt.Path, v.Errors)
				}
				res.Load[i][j] = append(res.Load[i][j], v)
			}
		}
		opts.log("loopback round %d/%d done in %v", r+1, opts.LoadRounds, time.Since(t0).Round(time.Second))
	}
	return res, nil
}
