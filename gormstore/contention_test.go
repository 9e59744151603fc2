package gormstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/gorm"
)

// countStatements counts the SQL statements GORM runs on db from now on.
func countStatements(t *testing.T, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	return countStatementsMatching(t, db, "")
}

// countStatementsMatching counts the SQL statements GORM runs on db from
// now on whose text starts with prefix. Register it before anything uses
// db concurrently: GORM's callbacks are not safe to change meanwhile.
func countStatementsMatching(t *testing.T, db *gorm.DB, prefix string) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	count := func(tx *gorm.DB) {
		if strings.HasPrefix(tx.Statement.SQL.String(), prefix) {
			n.Add(1)
		}
	}
	name := "test:count " + prefix
	cb := db.Callback()
	for kind, err := range map[string]error{
		"query":  cb.Query().After("gorm:query").Register(name, count),
		"create": cb.Create().After("gorm:create").Register(name, count),
		"update": cb.Update().After("gorm:update").Register(name, count),
		"delete": cb.Delete().After("gorm:delete").Register(name, count),
		"raw":    cb.Raw().After("gorm:raw").Register(name, count),
		"row":    cb.Row().After("gorm:row").Register(name, count),
	} {
		if err != nil {
			t.Fatalf("register %s counter: %v", kind, err)
		}
	}
	return &n
}

// TestContendedSession: 100 concurrent increments of one session at
// concurrency 2, 16 and 100, on one instance and spread over two, on
// PostgreSQL, and on one instance on SQLite: every one succeeds, every
// count is answered once, the final count is exact on every instance, and
// on one instance the increments cost at most 1.2 statements each (they
// queue in memory, not in the database).
func TestContendedSession(t *testing.T) {
	for _, setup := range []struct {
		name  string
		start func(t *testing.T) []*instance
	}{
		{"sqlite", func(t *testing.T) []*instance {
			store, db := open(t, testdb.SQLite)
			m, err := core.NewManager(store, core.Config{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			return []*instance{{t: t, m: m, db: db}}
		}},
		{"postgres", func(t *testing.T) []*instance { in, _ := startInstances(t, 1); return in }},
		{"postgres", func(t *testing.T) []*instance { in, _ := startInstances(t, 2); return in }},
	} {
		in := setup.start(t)
		n := len(in)
		var stmts []*atomic.Int64
		for _, i := range in {
			stmts = append(stmts, countStatements(t, i.db))
		}
		for _, conc := range []int{2, 16, 100} {
			t.Run(fmt.Sprintf("%s/instances=%d/concurrency=%d", setup.name, n, conc), func(t *testing.T) {
				const total = 100
				token := in[0].request("", func(s *core.Session) { s.Set("n", 0) }).Value
				for _, i := range in {
					i.count(token) // cached everywhere, as a warm session is
				}
				before := int64(0)
				for _, c := range stmts {
					before += c.Load()
				}
				answers := make([]int, total)
				sem := make(chan struct{}, conc)
				var wg sync.WaitGroup
				start := time.Now()
				for k := range total {
					sem <- struct{}{}
					wg.Go(func() {
						defer func() { <-sem }()
						in[k%n].request(token, func(s *core.Session) {
							v, err := core.Modify(context.Background(), s, "n", func(v int, _ bool) int { return v + 1 })
							if err != nil {
								t.Errorf("increment %d: %v", k, err)
							}
							answers[k] = v
						})
					})
				}
				wg.Wait()
				took := time.Since(start)
				after := int64(0)
				for _, c := range stmts {
					after += c.Load()
				}
				seen := make(map[int]bool, total)
				for _, v := range answers {
					if v < 1 || v > total || seen[v] {
						t.Fatalf("answers %v, want each of 1..%d once", answers, total)
					}
					seen[v] = true
				}
				for _, i := range in {
					await(t, func() int { return i.count(token) }, total)
				}
				per := float64(after-before) / total
				t.Logf("%d increments, %d at a time on %d instance(s): %v, %.2f statements each", total, conc, n, took.Round(time.Millisecond), per)
				if n == 1 && per > 1.2 {
					t.Errorf("%.2f statements per increment on one instance, want at most 1.2", per)
				}
			})
		}
	}
}
