package peers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadStopsAtMaxRequests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("Cookie") == "" {
			t.Errorf("request without the client's cookie")
		}
	}))
	defer srv.Close()
	res := Load(context.Background(), LoadConfig{URL: srv.URL, Method: http.MethodGet, Cookies: []string{"a=1", "a=2"},
		Concurrency: 4, Duration: time.Minute, MaxRequests: 100})
	if res.Requests != 100 || served.Load() != 100 {
		t.Errorf("Load answered %d, server saw %d; want 100 and 100", res.Requests, served.Load())
	}
	if res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 {
		t.Errorf("Load = %+v, want no errors and 0 < p50 <= p99", res)
	}
}

func TestLoadStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	res := Load(context.Background(), LoadConfig{URL: srv.URL, Method: http.MethodGet, Concurrency: 2, Duration: 100 * time.Millisecond})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Load ran %v, want about 100ms", d)
	}
	if res.Requests == 0 {
		t.Errorf("Load answered no request")
	}
}

func TestMedianAndRotation(t *testing.T) {
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median = %v, want 3", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
	if got := rotated(3, 1); got[0] != 1 || got[1] != 2 || got[2] != 0 {
		t.Errorf("rotated(3, 1) = %v, want [1 2 0]", got)
	}
}

// TestCounterCounts needs PostgreSQL; it skips when the server of
// HYBRIDSESSION_TEST_POSTGRES (or the default) cannot be reached.
func TestCounterCounts(t *testing.T) {
	dsn := os.Getenv("HYBRIDSESSION_TEST_POSTGRES")
	if dsn == "" {
		dsn = DefaultDSN
	}
	c := &Counter{}
	db, err := OpenDB(dsn, c, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Skipf("PostgreSQL not reachable (set HYBRIDSESSION_TEST_POSTGRES): %v", err)
	}
	before := c.Load()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT $1::int", 7).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := c.Load() - before; got != 3 {
		t.Errorf("statements for BEGIN, SELECT, COMMIT = %d, want 3", got)
	}
}

func TestCountStatementsWithoutDatabase(t *testing.T) {
	a, err := BareGin(context.Background(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range Routes {
		if got, err := CountStatements(a, rt, "", 3); err != nil || got != 0 {
			t.Errorf("CountStatements(bare gin, %s) = %v, %v; want 0, nil", rt.Name, got, err)
		}
	}
}
