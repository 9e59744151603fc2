package peers

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// SetBenchTime sets how long testing.Benchmark runs each benchmark. The
// testing flags must be registered: by go test, or by testing.Init.
func SetBenchTime(d time.Duration) error {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return fmt.Errorf("testing flags not registered; call testing.Init first")
	}
	return f.Value.Set(d.String())
}

// NewSession serves the new route once, in process, and returns the
// Cookie header that carries the session it made ("" when the app sets no
// cookie, as the bare frameworks do).
func NewSession(h http.Handler) (string, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, RouteNew, nil))
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("POST %s: status %d, want 200; body %q", RouteNew, rec.Code, rec.Body)
	}
	var parts []string
	for _, c := range rec.Result().Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; "), nil
}

// discardWriter keeps only the header map and the status, so that the
// in-process benchmarks measure the apps and not a recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(b), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// InProc is one in-process benchmark result.
type InProc struct {
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
	N           int
}

// request returns the request of rt, with cookie when rt carries a session.
func request(rt Route, cookie string) *http.Request {
	req := httptest.NewRequest(rt.Method, rt.Path, nil)
	if rt.Session && cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// BenchInProcess serves rt through h.ServeHTTP under testing.Benchmark and
// returns the time and allocations per request. Each iteration serves a
// shallow copy of one prepared request (gorilla/sessions stores its
// registry in the request it is given, which must not carry over), so one
// allocation of every app, the floor's included, is that copy.
func BenchInProcess(h http.Handler, rt Route, cookie string) (InProc, error) {
	base := request(rt, cookie)
	w := &discardWriter{h: http.Header{}}
	var bad int
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			w.code = 0
			r := new(http.Request)
			*r = *base
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK && bad == 0 {
				bad = w.code
			}
		}
	})
	if bad != 0 {
		return InProc{}, fmt.Errorf("%s %s: status %d, want 200", rt.Method, rt.Path, bad)
	}
	if res.N == 0 {
		return InProc{}, fmt.Errorf("%s %s: the benchmark did not run", rt.Method, rt.Path)
	}
	return InProc{
		NsPerOp:     float64(res.T.Nanoseconds()) / float64(res.N),
		BytesPerOp:  float64(res.MemBytes) / float64(res.N),
		AllocsPerOp: float64(res.MemAllocs) / float64(res.N),
		N:           res.N,
	}, nil
}

// CountStatements serves rt n times in process, one request after the
// other, after one request to warm up, and returns the SQL statements the
// app sent per request. cookie is sent when rt carries a session; the new
// route is sent without one, so each request makes a session.
func CountStatements(a *App, rt Route, cookie string, n int) (float64, error) {
	if a.SQL == nil {
		return 0, nil
	}
	serve := func() error {
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, request(rt, cookie))
		if rec.Code != http.StatusOK {
			return fmt.Errorf("%s: %s %s: status %d, want 200", a.Name, rt.Method, rt.Path, rec.Code)
		}
		return nil
	}
	if err := serve(); err != nil {
		return 0, err
	}
	before := a.SQL.Load()
	for range n {
		if err := serve(); err != nil {
			return 0, err
		}
	}
	return float64(a.SQL.Load()-before) / float64(n), nil
}
