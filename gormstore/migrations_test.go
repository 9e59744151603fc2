package gormstore_test

import (
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/core/storetest"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
	"gorm.io/gorm"
)

// migrationName is the name of a migration file as golang-migrate parses
// it: version, name, direction.
var migrationName = regexp.MustCompile(`^(\d+)_(\w+)\.(up|down)\.sql$`)

// migration is one version of the schema in gormstore.Migrations.
type migration struct {
	version  int
	base     string // the file names without .up.sql or .down.sql
	up, down string // the files' SQL
}

// migrations returns the migrations of kind in version order. It fails t
// on a file that golang-migrate would not read as a migration, a version
// without both of its files or with two names, a file that does not start
// with a comment, and versions that do not count 1, 2, ... as the schema
// version does.
func migrations(t testing.TB, kind testdb.Kind) []migration {
	t.Helper()
	dir := path.Join("migrations", string(kind))
	entries, err := fs.ReadDir(gormstore.Migrations, dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var all []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			t.Errorf("%s/%s: not named <version>_<name>.up.sql or .down.sql", dir, e.Name())
			continue
		}
		text, err := fs.ReadFile(gormstore.Migrations, path.Join(dir, e.Name()))
		if err != nil {
			t.Fatalf("read %s/%s: %v", dir, e.Name(), err)
		}
		if !strings.HasPrefix(string(text), "-- ") {
			t.Errorf("%s/%s does not start with a comment saying what it does", dir, e.Name())
		}
		version, _ := strconv.Atoi(m[1])
		i := slices.IndexFunc(all, func(g migration) bool { return g.version == version })
		if i < 0 {
			all = append(all, migration{version: version, base: m[1] + "_" + m[2]})
			i = len(all) - 1
		}
		sql := &all[i].down
		if m[3] == "up" {
			sql = &all[i].up
		}
		if all[i].base != m[1]+"_"+m[2] || *sql != "" {
			t.Errorf("%s/%s: a second file of version %d", dir, e.Name(), version)
		}
		*sql = string(text)
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	for i, m := range all {
		if m.up == "" || m.down == "" {
			t.Errorf("%s/%s: want both an up and a down file", dir, m.base)
		}
		if m.version != i+1 {
			t.Errorf("%s/%s: version %d, want %d: versions count the schema's versions from 1", dir, m.base, m.version, i+1)
		}
	}
	return all
}

// apply runs one migration file on db as golang-migrate does, as one
// multi-statement Exec, and checks the version it leaves.
func apply(t testing.TB, db *gorm.DB, file, sql string, version int) {
	t.Helper()
	if err := db.WithContext(t.Context()).Exec(sql).Error; err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	wantVersion(t, db, file, version)
}

// wantVersion checks that the table hybrid_sessions_schema holds one row,
// of the given version, after the step named after; version 0: that there
// is no such table.
func wantVersion(t testing.TB, db *gorm.DB, after string, version int) {
	t.Helper()
	var got, want []int
	if version > 0 {
		want = []int{version}
	}
	if db.Migrator().HasTable("hybrid_sessions_schema") {
		if err := db.WithContext(t.Context()).Raw("SELECT version FROM hybrid_sessions_schema").Scan(&got).Error; err != nil {
			t.Fatalf("schema version after %s: %v", after, err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema versions after %s = %v, want %v", after, got, want)
	}
}

// applyUps runs the up files of ms on db in order.
func applyUps(t testing.TB, db *gorm.DB, ms []migration) {
	t.Helper()
	for _, m := range ms {
		apply(t, db, m.base+".up.sql", m.up, m.version)
	}
}

// The file names of both dialects are migrations as golang-migrate reads
// them, with the same versions, the last of which is the one Migrate makes.
func TestMigrationFiles(t *testing.T) {
	versions := map[testdb.Kind][]int{}
	for _, kind := range testdb.Kinds {
		for _, m := range migrations(t, kind) {
			versions[kind] = append(versions[kind], m.version)
		}
		if n := len(versions[kind]); n != gormstore.SchemaVersion {
			t.Errorf("%s: %d versions, want %d (the schema version Migrate makes)", kind, n, gormstore.SchemaVersion)
		}
	}
	if pg, lite := versions[testdb.Postgres], versions[testdb.SQLite]; !slices.Equal(pg, lite) {
		t.Errorf("versions: postgres %v, sqlite %v; want the same", pg, lite)
	}
}

// The up files, applied in version order, make the schema Migrate makes,
// which Migrate then finds current: it runs as few statements as on a
// schema it made itself, and changes nothing. Migrate also upgrades a
// schema the files made to an older version. The store passes its
// conformance tests on the files' schema, and the down files, in reverse
// order, undo each up exactly, leaving no hybrid_sessions* table, trigger
// or function.
func TestMigrations(t *testing.T) {
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ms := migrations(t, kind)
			migrated, migratedDB := open(t, kind)
			want := describe(t, migratedDB, kind)
			// Migrate on a schema it made: the statements of a no-op.
			noop := countStatements(t, migratedDB)
			if err := migrated.Migrate(t.Context()); err != nil {
				t.Fatalf("second Migrate error = %v", err)
			}

			db, _ := testdb.Open(t, kind)
			states := [][]string{describe(t, db, kind)} // states[v]: at version v
			for _, m := range ms {
				apply(t, db, m.base+".up.sql", m.up, m.version)
				states = append(states, describe(t, db, kind))
			}
			if got := states[len(ms)]; !slices.Equal(got, want) {
				t.Errorf("the up files make\n%s\nwant (as Migrate makes)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			store, err := gormstore.New(db, gormstore.Options{})
			if err != nil {
				t.Fatalf("New error = %v", err)
			}
			if current, err := gormstore.Current(t.Context(), store); !current || err != nil {
				t.Errorf("current on the up files' schema = %v, %v; want true, nil", current, err)
			}
			ran := countStatements(t, db)
			if err := store.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate on the up files' schema error = %v", err)
			}
			if ran.Load() != noop.Load() {
				t.Errorf("Migrate on the up files' schema ran %d statements, want %d as on a schema it made (no DDL)", ran.Load(), noop.Load())
			}
			wantVersion(t, db, "Migrate", gormstore.SchemaVersion)
			if got := describe(t, db, kind); !slices.Equal(got, want) {
				t.Errorf("Migrate changed the up files' schema to\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			for i := len(ms) - 1; i >= 0; i-- {
				apply(t, db, ms[i].base+".down.sql", ms[i].down, i)
				if got := describe(t, db, kind); !slices.Equal(got, states[i]) {
					t.Errorf("%s.down.sql leaves\n%s\nwant (as before its up)\n%s", ms[i].base, strings.Join(got, "\n"), strings.Join(states[i], "\n"))
				}
			}
			if got := describe(t, db, kind); len(got) != 0 {
				t.Errorf("the down files leave\n%s\nwant nothing", strings.Join(got, "\n"))
			}

			t.Run("Migrate upgrades", func(t *testing.T) {
				for v := 1; v < len(ms); v++ {
					db, _ := testdb.Open(t, kind)
					applyUps(t, db, ms[:v])
					store, err := gormstore.New(db, gormstore.Options{})
					if err != nil {
						t.Fatalf("New error = %v", err)
					}
					if err := store.Migrate(t.Context()); err != nil {
						t.Fatalf("Migrate from version %d error = %v", v, err)
					}
					wantVersion(t, db, "Migrate", gormstore.SchemaVersion)
					if got := describe(t, db, kind); !slices.Equal(got, want) {
						t.Errorf("Migrate from version %d makes\n%s\nwant\n%s", v, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			})

			t.Run("conformance", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) storage.Store {
					db, _ := testdb.Open(t, kind)
					applyUps(t, db, ms)
					store, err := gormstore.New(db, gormstore.Options{})
					if err != nil {
						t.Fatalf("New error = %v", err)
					}
					return store
				})
			})
		})
	}
}
