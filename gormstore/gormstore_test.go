package gormstore_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/corebridge"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// open returns a store on a fresh database of the given kind, migrated.
func open(t testing.TB, kind testdb.Kind) (*gormstore.Store, *gorm.DB) {
	t.Helper()
	db, _ := testdb.Open(t, kind)
	store, err := gormstore.New(db, gormstore.Options{})
	if err != nil {
		t.Fatalf("New error = %v", err)
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate error = %v", err)
	}
	return store, db
}

// cached puts store behind core's cache.
func cached(t testing.TB, store storage.Store) storage.Store {
	t.Helper()
	c, err := corebridge.Wrap(store)
	if err != nil {
		t.Fatalf("cache: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			t.Run("bare", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) storage.Store {
					store, _ := open(t, kind)
					return store
				})
			})
			t.Run("cached", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) storage.Store {
					store, _ := open(t, kind)
					return cached(t, store)
				})
			})
		})
	}
}

// like matches the names of the store's tables, indexes, triggers and
// functions, hybrid_sessions*, in SQLite and PostgreSQL.
const like = ` LIKE 'hybrid\_sessions%' ESCAPE '\'`

// describe returns the schema of the store on db, one line per item,
// sorted: the columns, indexes and constraints of the hybrid_sessions*
// tables, and their triggers and, on PostgreSQL, their function. It is
// empty when none of them exists.
func describe(t testing.TB, db *gorm.DB, kind testdb.Kind) []string {
	t.Helper()
	q := map[testdb.Kind]string{
		testdb.SQLite: `
			SELECT 'column ' || m.name || '.' || c.name || ' ' || c.type || ' notnull=' || c."notnull" || ' pk=' || c.pk || ' default=' || coalesce(c.dflt_value, '')
			FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table' AND m.name` + like + `
			UNION ALL
			SELECT 'index ' || m.name || '.' || il.name || ' unique=' || il."unique" || ' origin=' || il.origin || ' on ' || ii.name
			FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii WHERE m.type = 'table' AND m.name` + like + `
			UNION ALL
			SELECT 'trigger ' || sql FROM sqlite_master WHERE type = 'trigger' AND (name` + like + ` OR tbl_name` + like + `)
			ORDER BY 1`,
		testdb.Postgres: `
			SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || coalesce('(' || character_maximum_length || ')', '') ||
				' nullable=' || is_nullable || ' default=' || coalesce(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name` + like + `
			UNION ALL
			SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename` + like + `
			UNION ALL
			SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
			FROM pg_constraint WHERE conrelid::regclass::text` + like + `
			UNION ALL
			SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
			WHERE NOT tgisinternal AND (tgname` + like + ` OR tgrelid::regclass::text` + like + `)
			UNION ALL
			SELECT 'function ' || pg_get_functiondef(oid) FROM pg_proc WHERE proname` + like + `
			ORDER BY 1`,
	}[kind]
	var lines []string
	if err := db.WithContext(t.Context()).Raw(q).Scan(&lines).Error; err != nil {
		t.Fatalf("describe %s schema: %v", kind, err)
	}
	return lines
}

func TestMigrateTwice(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			store, db := open(t, kind)
			now := time.Now().UTC().Truncate(time.Microsecond)
			rec := storage.Record{ID: storage.RecordID("token"), Data: []byte("kept"), CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
			if err := store.Create(t.Context(), rec); err != nil {
				t.Fatalf("Create error = %v", err)
			}
			before := describe(t, db, kind)
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatalf("second Migrate error = %v, want nil", err)
			}
			if got := describe(t, db, kind); !slices.Equal(got, before) {
				t.Errorf("second Migrate changed the schema to\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
			}
			got, found, err := store.Find(t.Context(), rec.ID, now)
			if err != nil || !found || string(got.Data) != "kept" {
				t.Errorf("Find after second Migrate = %q, found %v, error %v; want %q, true, nil", got.Data, found, err, "kept")
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := gormstore.New(nil, gormstore.Options{}); err == nil {
		t.Errorf("New(nil) error = nil, want an error")
	}
	mysql := &gorm.DB{Config: &gorm.Config{Dialector: mysqlDialector{}}}
	if _, err := gormstore.New(mysql, gormstore.Options{}); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Errorf("New(MySQL) error = %v, want an error naming mysql", err)
	}
}

// mysqlDialector is a dialector of a database the store does not support.
type mysqlDialector struct{ postgres.Dialector }

func (mysqlDialector) Name() string { return "mysql" }

// serve runs one request through m's middleware with the given cookie, if
// any, and returns the response.
func serve(m *core.Manager, h http.HandlerFunc, cookie *http.Cookie) *http.Response {
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	m.Middleware(h).ServeHTTP(w, req)
	return w.Result()
}

// sessionCookie returns the response's session cookie.
func sessionCookie(t testing.TB, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			return c
		}
	}
	t.Fatalf("response sets no %q cookie; Set-Cookie: %q", "session", resp.Header.Values("Set-Cookie"))
	return nil
}

// TestNoRawToken checks that the table holds the hash of a session token,
// never the token.
func TestNoRawToken(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			store, db := open(t, kind)
			m, err := core.NewManager(store, core.Config{})
			if err != nil {
				t.Fatal(err)
			}
			resp := serve(m, func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				s.Login("alice")
				s.Set("count", 1)
			}, nil)
			token := sessionCookie(t, resp).Value

			var rows []map[string]any
			if err := db.Table("hybrid_sessions").Find(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 {
				t.Fatalf("table holds %d rows, want 1", len(rows))
			}
			for col, v := range rows[0] {
				text := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					text = string(b)
				}
				if strings.Contains(text, token) {
					t.Errorf("column %s = %q contains the session token", col, text)
				}
			}
			if got, want := rows[0]["id"], storage.RecordID(token); got != want {
				t.Errorf("id = %v, want the token's SHA-256 %s", got, want)
			}
		})
	}
}

// TestCorruptData checks end to end that undecodable data in the table
// gives the handler an empty session, not an error, and that saving it
// repairs the row.
func TestCorruptData(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			store, db := open(t, kind)
			var logs bytes.Buffer
			m, err := core.NewManager(store, core.Config{
				Cache:  core.CacheOptions{TTL: -1}, // read the row every time
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			count := func(w http.ResponseWriter, r *http.Request) {
				s, _ := core.FromContext(r.Context())
				n, ok := core.Get[int](s, "count")
				s.Set("count", n+1)
				fmt.Fprintf(w, "%d %v", n, ok)
			}
			cookie := sessionCookie(t, serve(m, count, nil))

			garbage := []byte{0xff, 0x00, 0xfe, 'x'}
			if err := db.Exec("UPDATE hybrid_sessions SET data = ?", garbage).Error; err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"0 false", "1 true"} {
				resp := serve(m, count, cookie)
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK || string(body) != want {
					t.Errorf("after corrupting the row: %d %q, want 200 %q", resp.StatusCode, body, want)
				}
			}
			if !strings.Contains(logs.String(), "corrupt") {
				t.Errorf("log = %q, want a line about corrupt data", logs.String())
			}
		})
	}
}

// TestTimes checks the time columns beyond what core produces: zero times
// (which GORM would fill in for a CreatedAt field), other time zones, and
// on SQLite the fixed-width text.
func TestTimes(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			store, db := open(t, kind)
			zone := time.FixedZone("UTC+5", 5*3600)
			expires := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
			rec := storage.Record{ID: storage.RecordID("token"), Deadline: expires.In(zone), ExpiresAt: expires.In(zone)}
			if err := store.Create(t.Context(), rec); err != nil {
				t.Fatalf("Create error = %v", err)
			}
			for _, tc := range []struct {
				now   time.Time
				found bool
			}{
				{expires.Add(-time.Microsecond).In(zone), true},
				{expires.In(zone), false},
			} {
				got, found, err := store.Find(t.Context(), rec.ID, tc.now)
				if err != nil || found != tc.found {
					t.Fatalf("Find(now %v) = found %v, error %v; want %v, nil", tc.now, found, err, tc.found)
				}
				if !found {
					continue
				}
				if !got.CreatedAt.IsZero() {
					t.Errorf("CreatedAt = %v, want the zero time as created", got.CreatedAt)
				}
				if !got.ExpiresAt.Equal(expires) || got.ExpiresAt.Location() != time.UTC {
					t.Errorf("ExpiresAt = %v, want %v in UTC", got.ExpiresAt, expires)
				}
			}
			if kind != testdb.SQLite {
				return
			}
			var stored []string
			if err := db.Raw("SELECT typeof(expires_at) || ' ' || expires_at FROM hybrid_sessions").Scan(&stored).Error; err != nil {
				t.Fatal(err)
			}
			if want := "text 2030-01-02 03:04:05.000000+00:00"; len(stored) != 1 || stored[0] != want {
				t.Errorf("stored expires_at = %q, want [%q]", stored, want)
			}
		})
	}
}

// TestQueryPlans checks that lookups, cleanup and log-out-everywhere use
// their indexes.
func TestQueryPlans(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			_, db := open(t, kind)
			explain, pk := "EXPLAIN QUERY PLAN ", "sqlite_autoindex_hybrid_sessions_1"
			if kind == testdb.Postgres {
				explain, pk = "EXPLAIN ", "hybrid_sessions_pkey"
			}
			tests := []struct{ query, index string }{
				{"SELECT * FROM hybrid_sessions WHERE id = 'x' AND expires_at > '2030-01-01 00:00:00.000000+00:00' LIMIT 1", pk},
				{"DELETE FROM hybrid_sessions WHERE id IN (SELECT id FROM hybrid_sessions WHERE expires_at <= '2030-01-01 00:00:00.000000+00:00' LIMIT 1000)", "hybrid_sessions_expires_at_idx"},
				{"DELETE FROM hybrid_sessions WHERE user_id = 'alice'", "hybrid_sessions_user_id_idx"},
			}
			for _, tc := range tests {
				var plan []map[string]any
				err := db.Transaction(func(tx *gorm.DB) error {
					if kind == testdb.Postgres {
						// The table is empty: make the planner show what it
						// would do with a large one.
						if err := tx.Exec("SET LOCAL enable_seqscan = off").Error; err != nil {
							return err
						}
					}
					return tx.Raw(explain + tc.query).Scan(&plan).Error
				})
				if err != nil {
					t.Fatalf("%s: %v", tc.query, err)
				}
				if got := fmt.Sprint(plan); !strings.Contains(got, tc.index) {
					t.Errorf("plan of %s = %s, want it to use %s", tc.query, got, tc.index)
				}
			}
		})
	}
}
