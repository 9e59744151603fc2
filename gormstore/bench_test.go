package gormstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// BenchmarkParallelChange measures session writes from 16 goroutines per
// CPU, changing 64 sessions through a cached manager on PostgreSQL, with
// the notify trigger (what coherence across instances costs: notifying
// commits take a database-wide lock through their WAL flush) and without
// it, and with the store's Updates batched (the default) or one statement
// each.
//
//	go test -run '^$' -bench ParallelChange -count 6 ./gormstore | benchstat -
func BenchmarkParallelChange(b *testing.B) {
	for _, trigger := range []bool{true, false} {
		for _, batch := range []bool{true, false} {
			name := map[bool]string{true: "notify=trigger", false: "notify=none"}[trigger] + map[bool]string{true: "/batch=on", false: "/batch=off"}[batch]
			b.Run(name, func(b *testing.B) { benchmarkParallelChange(b, trigger, batch) })
		}
	}
}

// benchmarkParallelChange is BenchmarkParallelChange with the trigger or
// without, batched or not.
func benchmarkParallelChange(b *testing.B, trigger, batch bool) {
	b.Cleanup(gormstore.SetBatching(batch, 0, 0))
	store, db := open(b, testdb.Postgres)
	m, err := core.NewManager(store, core.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.RunInvalidations(ctx)
	for m.Stats().Bypassed {
		time.Sleep(time.Millisecond)
	}
	if !trigger { // after the listener checked for it
		if err := db.Exec("DROP TRIGGER hybrid_sessions_notify ON hybrid_sessions").Error; err != nil {
			b.Fatal(err)
		}
	}
	const sessions = 64
	tokens := make([]string, sessions)
	for i := range tokens {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		s, _ := m.Begin(r)
		s.Set("n", 0)
		h := http.Header{}
		if err := s.Commit(h, http.StatusOK); err != nil {
			b.Fatal(err)
		}
		tokens[i] = (&http.Response{Header: h}).Cookies()[0].Value
	}
	var next atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r, _ := http.NewRequest(http.MethodPost, "/", nil)
		r.AddCookie(&http.Cookie{Name: "session", Value: tokens[next.Add(1)%sessions]})
		for i := 0; pb.Next(); i++ {
			s, _ := m.Begin(r)
			s.Set("n", i)
			if err := s.Commit(http.Header{}, http.StatusOK); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkParallelCreate measures Creates of new sessions from 16
// goroutines per CPU straight on the store on PostgreSQL, batched (the
// default) or one INSERT each. The trigger is installed but fires on
// updates and deletes only.
//
//	go test -run '^$' -bench ParallelCreate -count 6 ./gormstore | benchstat -
func BenchmarkParallelCreate(b *testing.B) {
	for _, batch := range []bool{true, false} {
		b.Run(map[bool]string{true: "batch=on", false: "batch=off"}[batch], func(b *testing.B) {
			b.Cleanup(gormstore.SetBatching(batch, 0, 0))
			store, _ := open(b, testdb.Postgres)
			now := time.Now()
			var next atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := storage.Record{
						ID: storage.RecordID(fmt.Sprint("create-", next.Add(1))), Data: []byte("n=0"),
						CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour),
					}
					if err := store.Create(context.Background(), rec); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}
