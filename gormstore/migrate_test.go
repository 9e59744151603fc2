package gormstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/gormstore"
	"github.com/hybridsession/hybridsession/internal/testdb"
)

// migrateAll runs Migrate on n instances (each with its own pool) at the
// same moment and returns their errors.
func migrateAll(t *testing.T, dsn string, n int) []error {
	t.Helper()
	stores := make([]*gormstore.Store, n)
	for i := range stores {
		s, err := gormstore.New(openPool(t, dsn), gormstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = s.Migrate(context.Background())
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// Four instances starting at once, on a fresh database and then on the
// migrated one, all migrate without an error: the migration is serialized
// by an advisory lock, and on a current schema does nothing.
func TestMigrateInstancesStartingTogether(t *testing.T) {
	for round := range 3 {
		dsn := testdb.NewPostgres(t)
		for _, state := range []string{"fresh", "migrated"} {
			for i, err := range migrateAll(t, dsn, 4) {
				if err != nil {
					t.Errorf("round %d, %s database: instance %d: Migrate error = %v", round, state, i, err)
				}
			}
		}
		store, err := gormstore.New(openPool(t, dsn), gormstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		storeRoundTrip(t, store)
	}
}

// storeRoundTrip checks that store works: a record goes in and comes out.
func storeRoundTrip(t *testing.T, store storage.Store) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := storage.Record{ID: storage.RecordID(now.String()), Data: []byte("x"), CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := store.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create after Migrate: %v", err)
	}
	if _, found, err := store.Find(t.Context(), rec.ID, now); !found || err != nil {
		t.Fatalf("Find after Migrate: %v, %v", found, err)
	}
}

// holdRead opens a transaction that reads the sessions table, as pg_dump
// or a report would, and keeps it (and its lock) until release is called.
func holdRead(t *testing.T, dsn string) (release func()) {
	t.Helper()
	db := openPool(t, dsn)
	tx := db.Begin()
	if err := tx.Exec("SELECT count(*) FROM hybrid_sessions").Error; err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() }
}

// readDuring runs Finds of live sessions, each with a deadline of 500 ms,
// until stop is closed, and returns how many failed and how many ran. A
// migration that queued a lock behind a long reader would hold them all
// up until the reader ends, seconds later.
func readDuring(t *testing.T, store storage.Store, stop <-chan struct{}) (failed, ran *int, done func()) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := storage.Record{ID: storage.RecordID(t.Name()), Data: []byte("x"), CreatedAt: now, Deadline: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := store.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	failed, ran = new(int), new(int)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			if _, _, err := store.Find(ctx, rec.ID, time.Now()); err != nil {
				*failed++
			}
			cancel()
			*ran++
			time.Sleep(2 * time.Millisecond)
		}
	})
	return failed, ran, wg.Wait
}

// An instance that starts while a long transaction reads the table holds
// up no session query: on a current schema Migrate takes no lock, and an
// upgrade's DDL gives up its lock wait after 50 ms and tries again later,
// instead of queueing every query behind it until the reader ends.
func TestMigrateNeverStallsTraffic(t *testing.T) {
	dsn := testdb.NewPostgres(t)
	if errs := migrateAll(t, dsn, 1); errs[0] != nil {
		t.Fatal(errs[0])
	}
	live, err := gormstore.New(openPool(t, dsn), gormstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := openPool(t, dsn)

	t.Run("current schema", func(t *testing.T) {
		release := holdRead(t, dsn)
		defer release()
		stop := make(chan struct{})
		failed, ran, done := readDuring(t, live, stop)
		start := time.Now()
		errs := migrateAll(t, dsn, 1)
		took := time.Since(start)
		time.Sleep(100 * time.Millisecond)
		close(stop)
		done()
		if errs[0] != nil {
			t.Errorf("Migrate while a reader holds the table: %v", errs[0])
		}
		if *failed > 0 {
			t.Errorf("%d of %d session reads failed their 500 ms deadline while Migrate ran", *failed, *ran)
		}
		t.Logf("Migrate on a current schema beside a reader: %v", took)
	})

	t.Run("upgrade waits for the reader", func(t *testing.T) {
		// An older schema version makes Migrate run its DDL, whose DROP
		// TRIGGER needs the table's exclusive lock.
		if err := admin.Exec("UPDATE hybrid_sessions_schema SET version = 0").Error; err != nil {
			t.Fatal(err)
		}
		release := holdRead(t, dsn)
		stop := make(chan struct{})
		failed, ran, done := readDuring(t, live, stop)
		time.AfterFunc(time.Second, release)
		start := time.Now()
		errs := migrateAll(t, dsn, 1)
		took := time.Since(start)
		close(stop)
		done()
		if errs[0] != nil {
			t.Errorf("Migrate of an older schema while a reader holds the table for 1 s: %v", errs[0])
		}
		if *failed > 0 {
			t.Errorf("%d of %d session reads failed their 500 ms deadline during the upgrade", *failed, *ran)
		}
		var version int
		admin.Raw("SELECT version FROM hybrid_sessions_schema").Scan(&version)
		if version != gormstore.SchemaVersion {
			t.Errorf("schema version after the upgrade = %d, want %d", version, gormstore.SchemaVersion)
		}
		t.Logf("upgrade beside a reader that held the table for 1 s: done after %v, %d session reads, none held up", took, *ran)
	})

	t.Run("reader that never ends", func(t *testing.T) {
		defer gormstore.SetMigratePatience(50*time.Millisecond, 3)()
		if err := admin.Exec("UPDATE hybrid_sessions_schema SET version = 0").Error; err != nil {
			t.Fatal(err)
		}
		release := holdRead(t, dsn)
		defer release()
		err := migrateAll(t, dsn, 1)[0]
		if err == nil || errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "lock timeout") {
			t.Errorf("Migrate that cannot get its lock: %v; want an error naming the lock timeout, not ErrUnavailable", err)
		}
	})
}
