package gormstore_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// BenchmarkParallelChange measures session writes from 32 goroutines, each
// changing its own session through a cached manager on PostgreSQL, with the
// notify trigger (what coherence across instances costs: notifying commits
// take a database-wide lock through their WAL flush) and without it.
//
//	go test -run '^$' -bench ParallelChange -count 6 ./gormstore | benchstat -
func BenchmarkParallelChange(b *testing.B) {
	for _, trigger := range []bool{true, false} {
		b.Run(map[bool]string{true: "notify=trigger", false: "notify=none"}[trigger], func(b *testing.B) {
			store, db := open(b, testdb.Postgres)
			m, err := core.NewManager(store, core.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go m.RunInvalidations(ctx)
			for m.Cache().Stats().Bypassed {
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
		})
	}
}
