package peers

import (
	"context"
	"fmt"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/jackc/pgx/v5"
)

// ScaleOptions sizes the scale measurement.
type ScaleOptions struct {
	Small, Large int // sessions in the table
	Rounds       int
	Duration     time.Duration
	Concurrency  int
	// Cleanup also measures the deletion of Large expired rows while the
	// read route is under load.
	Cleanup bool
	Log     func(format string, args ...any)
}

// ScaleResult is what the scale measurement found. Load is indexed by
// configuration (0: cache on, 1: cache off, every read a query) and size
// (0: Small, 1: Large), then round.
type ScaleResult struct {
	Small, Large int
	FillTime     time.Duration // to insert the rows of both tables
	Load         [2][2][]LoadResult

	CleanupRows    int
	CleanupBatches int
	CleanupTime    time.Duration
	CleanupErr     string
	Baseline       LoadResult // uncached reads on Large, just before the cleanup
	During         LoadResult // the same, while the cleanup runs
}

// ScaleConfigs name the two configurations of ScaleResult.Load.
var ScaleConfigs = [2]string{"cache on", "cache off"}

// fillSQL inserts $1 live sessions of 100 bytes of data into the
// hybrid_sessions of the connection's search_path, expiring $2 seconds
// from now (in the past when negative), with ids no token hashes to.
const fillSQL = `
INSERT INTO hybrid_sessions (id, user_id, data, version, persistent, created_at, deadline, expires_at)
SELECT encode(sha256(convert_to($3 || i, 'UTF8')), 'hex'), '', decode(repeat('ab', 100), 'hex'), 1, true,
       now(), now() + make_interval(secs => $2), now() + make_interval(secs => $2)
FROM generate_series(1, $1::int) AS i`

// Scale compares hybridsession+Gin's read route with Small and with Large
// sessions in PostgreSQL, with its cache on and off, in interleaved rounds
// over loopback; then, if asked, it deletes Large expired rows with
// storage.DeleteExpired while the uncached read route is under load.
func Scale(ctx context.Context, env Env, opts ScaleOptions) (*ScaleResult, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			opts.Log(format, args...)
		}
	}
	conn, err := pgx.Connect(ctx, env.DSN)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	schemas := [2]string{"scale_small", "scale_large"}
	sizes := [2]int{opts.Small, opts.Large}
	res := &ScaleResult{Small: opts.Small, Large: opts.Large}
	var apps [2][2]*App // [config][size]
	defer func() {
		for _, row := range apps {
			for _, a := range row {
				if a != nil {
					a.Close()
				}
			}
		}
	}()
	for s, schema := range schemas {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			return nil, err
		}
		for c := range 2 {
			if apps[c][s], err = HybridGin(ctx, env, schema, c == 0); err != nil {
				return nil, err
			}
		}
	}
	t0 := time.Now()
	for s, schema := range schemas {
		logf("  filling %s with %d sessions", schema, sizes[s])
		if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
			return nil, err
		}
		if _, err := conn.Exec(ctx, fillSQL, sizes[s]-2*opts.Concurrency, int64(14*24*3600), "live"); err != nil {
			return nil, fmt.Errorf("fill %s: %w", schema, err)
		}
		if _, err := conn.Exec(ctx, "ANALYZE hybrid_sessions"); err != nil {
			return nil, err
		}
	}
	res.FillTime = time.Since(t0)

	var urls [2][2]string
	var cookies [2][2][]string
	for c := range 2 {
		for s := range 2 {
			a := apps[c][s]
			u, stop, err := Serve(a.Handler)
			if err != nil {
				return nil, err
			}
			defer stop()
			urls[c][s] = u + RouteRead
			for range opts.Concurrency {
				ck, err := NewSession(a.Handler)
				if err != nil {
					return nil, err
				}
				cookies[c][s] = append(cookies[c][s], ck)
			}
		}
	}
	load := func(ctx context.Context, c, s int, d time.Duration) LoadResult {
		return Load(ctx, LoadConfig{URL: urls[c][s], Method: "GET", Cookies: cookies[c][s], Concurrency: opts.Concurrency, Duration: d})
	}
	for r := range opts.Rounds {
		for _, k := range rotated(4, r) {
			c, s := k/2, k%2
			res.Load[c][s] = append(res.Load[c][s], load(ctx, c, s, opts.Duration))
		}
		logf("  scale round %d/%d done", r+1, opts.Rounds)
	}
	if !opts.Cleanup {
		return res, nil
	}

	logf("  adding %d expired sessions to %s", opts.Large, schemas[1])
	if _, err := conn.Exec(ctx, "SET search_path TO "+schemas[1]); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, fillSQL, opts.Large, int64(-3600), "expired"); err != nil {
		return nil, fmt.Errorf("fill expired: %w", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE hybrid_sessions"); err != nil {
		return nil, err
	}
	res.Baseline = load(ctx, 1, 1, opts.Duration)
	cleanCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer stop()
		start := time.Now()
		n, err := storage.DeleteExpired(cleanCtx, apps[1][1].Sessions, time.Now(), 0, func(int) { res.CleanupBatches++ })
		res.CleanupTime, res.CleanupRows = time.Since(start), n
		if err != nil {
			res.CleanupErr = err.Error()
		}
	}()
	res.During = load(cleanCtx, 1, 1, 10*time.Minute)
	<-done
	logf("  cleanup: %d rows in %v", res.CleanupRows, res.CleanupTime.Round(time.Millisecond))
	return res, nil
}
