// Package storetest checks that a storage.Store keeps the contract written in
// core/storage. Every store, bare and behind core's cache, runs it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storage.Store { return memstore.New() })
//	}
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
)

// Run checks every promise of the storage.Store contract, each in its own
// parallel subtest. It calls newStore once per subtest, possibly from
// several goroutines at once; each call must return a store that holds no
// records, and may register its cleanup with t.Cleanup.
//
// Records are made as core makes them: times in UTC, truncated to the
// microsecond. A nil and an empty Data are the same (no values), so a store
// may return either for both.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Store)
	}{
		{"FindMissing", testFindMissing},
		{"FindExpiryBoundaries", testFindExpiryBoundaries},
		{"CreateRoundTrip", testCreateRoundTrip},
		{"CreateNeverOverwrites", testCreateNeverOverwrites},
		{"Update", testUpdate},
		{"UpdateConflicts", testUpdateConflicts},
		{"UpdateConcurrent", testUpdateConcurrent},
		{"UpdateLocked", testUpdateLocked},
		{"UpdateLockedMissing", testUpdateLockedMissing},
		{"UpdateLockedAbort", testUpdateLockedAbort},
		{"UpdateLockedConcurrent", testUpdateLockedConcurrent},
		{"Touch", testTouch},
		{"TouchMissingOrExpired", testTouchMissingOrExpired},
		{"Replace", testReplace},
		{"ReplaceConflicts", testReplaceConflicts},
		{"ReplaceOntoExistingID", testReplaceOntoExistingID},
		{"ReplaceConcurrent", testReplaceConcurrent},
		{"ReplaceStaleVersion", testReplaceStaleVersion},
		{"ReplaceAgainstUpdate", testReplaceAgainstUpdate},
		{"TouchLastSeenNeverBackwards", testTouchLastSeenNeverBackwards},
		{"Delete", testDelete},
		{"DeleteConcurrent", testDeleteConcurrent},
		{"ListUser", testListUser},
		{"DeleteUser", testDeleteUser},
		{"DeleteUserKeeping", testDeleteUserKeeping},
		{"DeleteExpired", testDeleteExpired},
		{"DeleteAll", testDeleteAll},
		{"Ping", testPing},
		{"CancelledContext", testCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// clock returns the suite's "now": the current time in UTC on a whole
// second, so that boundary cases cross from no fraction to a fraction.
func clock() time.Time { return time.Now().UTC().Truncate(time.Second) }

// newID returns a fresh record id shaped like storage.RecordID's.
func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// live returns a new record, unexpired at now, with every field set.
func live(now time.Time) storage.Record {
	return storage.Record{
		ID:         newID(),
		UserID:     "user-1",
		Data:       []byte("\x01\x01\x05count\x011"),
		Version:    1,
		Persistent: true,
		CreatedAt:  now.Add(-time.Minute),
		Deadline:   now.Add(time.Hour),
		ExpiresAt:  now.Add(30 * time.Minute),

		Handle:          newID()[:22],
		AuthenticatedAt: now.Add(-time.Minute),
		LastSeenAt:      now.Add(-time.Second),
		IP:              "2001:db8::1",
		UserAgent:       "Mozilla/5.0 (X11; Linux x86_64) ünïcode",
	}
}

// expired returns a new record that expired an hour before now.
func expired(now time.Time) storage.Record {
	rec := live(now.Add(-2 * time.Hour))
	rec.ExpiresAt = now.Add(-time.Hour)
	return rec
}

func create(t *testing.T, s storage.Store, rec storage.Record) storage.Record {
	t.Helper()
	if err := s.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create(%s) error = %v, want nil", rec.ID, err)
	}
	rec.Version = 1
	return rec
}

// find returns the record id, failing the test when it is not found at now.
func find(t *testing.T, s storage.Store, id string, now time.Time) storage.Record {
	t.Helper()
	rec, found, err := s.Find(t.Context(), id, now)
	if err != nil || !found {
		t.Fatalf("Find(%s, %v) = found %v, error %v; want found, nil", id, now, found, err)
	}
	return rec
}

// missing fails the test unless Find of id at now finds nothing.
func missing(t *testing.T, s storage.Store, id string, now time.Time) {
	t.Helper()
	rec, found, err := s.Find(t.Context(), id, now)
	if err != nil || found {
		t.Fatalf("Find(%s, %v) = %+v, found %v, error %v; want not found, nil", id, now, rec, found, err)
	}
}

// same fails the test unless got equals want field by field.
func same(t *testing.T, got, want storage.Record) {
	t.Helper()
	if got.ID != want.ID {
		t.Errorf("ID = %q, want %q", got.ID, want.ID)
	}
	if got.UserID != want.UserID {
		t.Errorf("record %s: UserID = %q, want %q", want.ID, got.UserID, want.UserID)
	}
	if !bytes.Equal(got.Data, want.Data) {
		t.Errorf("record %s: Data = %q, want %q", want.ID, got.Data, want.Data)
	}
	if got.Version != want.Version {
		t.Errorf("record %s: Version = %d, want %d", want.ID, got.Version, want.Version)
	}
	if got.Persistent != want.Persistent {
		t.Errorf("record %s: Persistent = %v, want %v", want.ID, got.Persistent, want.Persistent)
	}
	sameMeta(t, got, want)
}

// sameMeta fails the test unless got has want's times and metadata.
func sameMeta(t *testing.T, got, want storage.Record) {
	t.Helper()
	if got.Handle != want.Handle || got.IP != want.IP || got.UserAgent != want.UserAgent {
		t.Errorf("record %s: Handle, IP, UserAgent = %q, %q, %q; want %q, %q, %q", want.ID, got.Handle, got.IP, got.UserAgent, want.Handle, want.IP, want.UserAgent)
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"Deadline", got.Deadline, want.Deadline},
		{"ExpiresAt", got.ExpiresAt, want.ExpiresAt},
		{"AuthenticatedAt", got.AuthenticatedAt, want.AuthenticatedAt},
		{"LastSeenAt", got.LastSeenAt, want.LastSeenAt},
	} {
		if !f.got.Equal(f.want) {
			t.Errorf("record %s: %s = %v, want %v", want.ID, f.name, f.got, f.want)
		}
	}
}

// wantConflict fails the test unless err wraps storage.ErrConflict.
func wantConflict(t *testing.T, call string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrConflict) {
		t.Errorf("%s error = %v, want an error wrapping storage.ErrConflict", call, err)
	}
}

func testFindMissing(t *testing.T, s storage.Store) {
	missing(t, s, newID(), clock())
}

func testFindExpiryBoundaries(t *testing.T, s storage.Store) {
	now := clock()
	tests := []struct {
		name           string
		expires, query time.Duration // after now
		found          bool
	}{
		{"one microsecond before, across a second", 0, -time.Microsecond, true},
		{"at the expiry", 0, 0, false},
		{"one microsecond after", 0, time.Microsecond, false},
		{"one microsecond left", time.Microsecond, 0, true},
		{"fraction, one microsecond before", 500 * time.Millisecond, 499999 * time.Microsecond, true},
		{"fraction, at the expiry", 500 * time.Millisecond, 500 * time.Millisecond, false},
		{"shorter fraction expires first", 100 * time.Millisecond, 150 * time.Millisecond, false},
		{"longer fraction expires later", 150 * time.Millisecond, 100 * time.Millisecond, true},
		{"fraction before the next second", time.Second, 999999 * time.Microsecond, true},
		{"next second, from a fraction", 999999 * time.Microsecond, time.Second, false},
		{"an hour left", time.Hour, 0, true},
		{"an hour ago", -time.Hour, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := live(now)
			rec.ExpiresAt = now.Add(tc.expires)
			create(t, s, rec)
			at := now.Add(tc.query)
			got, found, err := s.Find(t.Context(), rec.ID, at)
			if err != nil || found != tc.found {
				t.Fatalf("Find(expires %v, now %v) = found %v, error %v; want found %v, nil",
					rec.ExpiresAt, at, found, err, tc.found)
			}
			if found {
				same(t, got, rec)
			}
		})
	}
}

func testCreateRoundTrip(t *testing.T, s storage.Store) {
	now := clock()
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	large := make([]byte, 64<<10)
	rand.Read(large)
	tests := []struct {
		name   string
		change func(*storage.Record)
	}{
		{"every field set", func(*storage.Record) {}},
		{"anonymous with nil data", func(r *storage.Record) { r.UserID, r.Data = "", nil }},
		{"empty data", func(r *storage.Record) { r.Data = []byte{} }},
		{"every byte value", func(r *storage.Record) { r.Data = allBytes }},
		{"64 KiB of data", func(r *storage.Record) { r.Data = large }},
		{"unicode user id", func(r *storage.Record) { r.UserID = "ünïcødé@example.com 🍪" }},
		{"not persistent", func(r *storage.Record) { r.Persistent = false }},
		{"microsecond times", func(r *storage.Record) {
			r.CreatedAt = now.Add(-time.Minute - 123456*time.Microsecond)
			r.Deadline = now.Add(time.Hour + time.Microsecond)
			r.ExpiresAt = now.Add(time.Minute + 999999*time.Microsecond)
		}},
		{"version zero becomes 1", func(r *storage.Record) { r.Version = 0 }},
		{"version 7 becomes 1", func(r *storage.Record) { r.Version = 7 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := live(now)
			tc.change(&rec)
			want := create(t, s, rec)
			same(t, find(t, s, rec.ID, now), want)
		})
	}
}

func testCreateNeverOverwrites(t *testing.T, s storage.Store) {
	now := clock()
	first := create(t, s, live(now))
	second := live(now)
	second.ID = first.ID
	second.UserID, second.Data = "intruder", []byte("other")
	if err := s.Create(t.Context(), second); err == nil {
		t.Errorf("Create of an existing id error = nil, want an error")
	}
	same(t, find(t, s, first.ID, now), first)
}

func testUpdate(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	want := rec
	for version := int64(1); version <= 3; version++ {
		next := rec
		next.Version = version
		// Fixed fields that differ from the stored ones: Update keeps those.
		next.UserID, next.IP, next.UserAgent = "user-2", "192.0.2.1", "curl/8"
		next.CreatedAt = now.Add(-time.Duration(version) * time.Microsecond)
		next.Deadline = now.Add(2*time.Hour + time.Duration(version)*time.Microsecond)
		next.AuthenticatedAt = now.Add(-time.Duration(version) * time.Millisecond)
		next.Data = []byte{byte(version), 0, 0xff}
		next.Persistent = version%2 == 0
		next.ExpiresAt = now.Add(time.Hour + time.Duration(version)*time.Microsecond)
		next.LastSeenAt = now.Add(time.Duration(version) * time.Microsecond)
		next.Handle = fmt.Sprintf("handle-%d", version)
		if err := s.Update(t.Context(), next, now); err != nil {
			t.Fatalf("Update(version %d) error = %v, want nil", version, err)
		}
		want.Data, want.Persistent, want.ExpiresAt, want.LastSeenAt, want.Handle = next.Data, next.Persistent, next.ExpiresAt, next.LastSeenAt, next.Handle
		want.Version = version + 1
		same(t, find(t, s, rec.ID, now), want)
	}
}

func testUpdateConflicts(t *testing.T, s storage.Store) {
	now := clock()
	tests := []struct {
		name  string
		setup func(t *testing.T) (stored *storage.Record, update storage.Record)
	}{
		{"older version", func(t *testing.T) (*storage.Record, storage.Record) {
			rec := create(t, s, live(now))
			next := rec
			next.Data = []byte("changed")
			if err := s.Update(t.Context(), next, now); err != nil {
				t.Fatalf("Update error = %v, want nil", err)
			}
			next.Version = 2
			stale := rec
			stale.Data = []byte("stale")
			return &next, stale
		}},
		{"newer version", func(t *testing.T) (*storage.Record, storage.Record) {
			rec := create(t, s, live(now))
			ahead := rec
			ahead.Version, ahead.Data = 2, []byte("ahead")
			return &rec, ahead
		}},
		{"missing record is not inserted", func(t *testing.T) (*storage.Record, storage.Record) {
			return nil, live(now)
		}},
		{"expired record", func(t *testing.T) (*storage.Record, storage.Record) {
			rec := create(t, s, expired(now))
			next := rec
			next.ExpiresAt, next.Data = now.Add(time.Hour), []byte("revived")
			return &rec, next
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stored, update := tc.setup(t)
			wantConflict(t, "Update", s.Update(t.Context(), update, now))
			if stored == nil {
				missing(t, s, update.ID, now)
				return
			}
			// Read it before its expiry, to see expired records too.
			same(t, find(t, s, stored.ID, stored.ExpiresAt.Add(-time.Microsecond)), *stored)
		})
	}
}

func testUpdateConcurrent(t *testing.T, s storage.Store) {
	const n = 16
	now := clock()
	rec := create(t, s, live(now))
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			next := rec
			next.Data = []byte{byte(i)}
			<-start
			errs[i] = s.Update(t.Context(), next, now)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("Update %d and %d both succeeded at version 1, want exactly one", winner, i)
		case err == nil:
			winner = i
		default:
			wantConflict(t, "concurrent Update", err)
		}
	}
	if winner < 0 {
		t.Fatalf("no concurrent Update succeeded, want exactly one")
	}
	got := find(t, s, rec.ID, now)
	if got.Version != 2 || !bytes.Equal(got.Data, []byte{byte(winner)}) {
		t.Errorf("after concurrent updates: Version %d, Data %q; want 2, %q (the winner's)", got.Version, got.Data, []byte{byte(winner)})
	}
}

func testUpdateLocked(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	var seen storage.Record
	next := rec
	next.Data, next.Persistent = []byte("locked"), !rec.Persistent
	next.ExpiresAt = now.Add(90 * time.Minute)
	next.Version = 99                    // the store sets the version
	next.UserID = "user-3"               // kept, as by Update
	next.CreatedAt = now.Add(-time.Hour) // likewise
	err := s.UpdateLocked(t.Context(), rec.ID, now, func(cur storage.Record) (storage.Record, error) {
		seen = cur
		return next, nil
	})
	if err != nil {
		t.Fatalf("UpdateLocked error = %v, want nil", err)
	}
	same(t, seen, rec)
	want := rec
	want.Data, want.Persistent, want.ExpiresAt, want.Version = next.Data, next.Persistent, next.ExpiresAt, 2
	same(t, find(t, s, rec.ID, now), want)
}

func testUpdateLockedMissing(t *testing.T, s storage.Store) {
	now := clock()
	for name, id := range map[string]string{"missing": newID(), "expired": create(t, s, expired(now)).ID} {
		called := false
		err := s.UpdateLocked(t.Context(), id, now, func(cur storage.Record) (storage.Record, error) {
			called = true
			return cur, nil
		})
		wantConflict(t, "UpdateLocked of a "+name+" record", err)
		if called {
			t.Errorf("UpdateLocked of a %s record called change", name)
		}
	}
}

func testUpdateLockedAbort(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	abort := errors.New("too large")
	err := s.UpdateLocked(t.Context(), rec.ID, now, func(cur storage.Record) (storage.Record, error) {
		cur.Data = []byte("never stored")
		return cur, abort
	})
	if !errors.Is(err, abort) {
		t.Errorf("UpdateLocked error = %v, want the error change returned", err)
	}
	same(t, find(t, s, rec.ID, now), rec)
}

// testUpdateLockedConcurrent: locked updates of one record, each appending
// to what it read, all run and none is lost, also against optimistic
// updates that conflict with them.
func testUpdateLockedConcurrent(t *testing.T, s storage.Store) {
	const n = 16
	now := clock()
	rec := create(t, s, live(now))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.UpdateLocked(t.Context(), rec.ID, now, func(cur storage.Record) (storage.Record, error) {
				cur.Data = append(bytes.Clone(cur.Data), byte(i))
				return cur, nil
			})
		})
	}
	stale := make([]error, 4)
	for i := range stale {
		wg.Go(func() { stale[i] = s.Update(t.Context(), rec, now) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateLocked %d error = %v, want nil", i, err)
		}
	}
	staleWon := 0
	for _, err := range stale {
		if err == nil {
			staleWon++
		} else {
			wantConflict(t, "Update racing UpdateLocked", err)
		}
	}
	got := find(t, s, rec.ID, now)
	if got.Version != int64(1+n+staleWon) {
		t.Errorf("after %d locked and %d optimistic updates: version %d, want %d", n, staleWon, got.Version, 1+n+staleWon)
	}
	// A stale update can only win before every locked one, and writes the
	// data it started from.
	if appended := got.Data[min(len(rec.Data), len(got.Data)):]; len(got.Data) != len(rec.Data)+n || len(slices.Compact(slices.Sorted(slices.Values(appended)))) != n {
		t.Errorf("after %d locked updates: data %v, want %v with each of 0..%d appended once", n, got.Data, rec.Data, n-1)
	}
}

func testTouch(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	for i, expiresAt := range []time.Time{now.Add(time.Hour + time.Microsecond), now.Add(time.Second)} {
		seen := now.Add(time.Duration(i) * time.Microsecond)
		if err := s.Touch(t.Context(), rec.ID, expiresAt, seen, now); err != nil {
			t.Fatalf("Touch(%v) error = %v, want nil", expiresAt, err)
		}
		rec.ExpiresAt, rec.LastSeenAt = expiresAt, seen
		same(t, find(t, s, rec.ID, now), rec)
	}
}

func testTouchLastSeenNeverBackwards(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	if err := s.Touch(t.Context(), rec.ID, rec.ExpiresAt, rec.LastSeenAt.Add(-time.Minute), now); err != nil {
		t.Fatalf("Touch error = %v, want nil", err)
	}
	same(t, find(t, s, rec.ID, now), rec)
}

func testTouchMissingOrExpired(t *testing.T, s storage.Store) {
	now := clock()
	id := newID()
	if err := s.Touch(t.Context(), id, now.Add(time.Hour), now, now); err != nil {
		t.Errorf("Touch of a missing record error = %v, want nil", err)
	}
	missing(t, s, id, now)

	old := create(t, s, expired(now))
	if err := s.Touch(t.Context(), old.ID, now.Add(time.Hour), now, now); err != nil {
		t.Errorf("Touch of an expired record error = %v, want nil", err)
	}
	// Look back in time first: a cache may remember that an id was not
	// found, since time never runs backwards outside this test.
	same(t, find(t, s, old.ID, old.ExpiresAt.Add(-time.Microsecond)), old)
	missing(t, s, old.ID, now)
}

func testReplace(t *testing.T, s storage.Store) {
	now := clock()
	old := create(t, s, live(now))
	next := live(now)
	next.Version = 5
	next.Data = []byte("renewed")
	if err := s.Replace(t.Context(), old.ID, old.Version, next, now); err != nil {
		t.Fatalf("Replace error = %v, want nil", err)
	}
	missing(t, s, old.ID, now)
	next.Version = 1
	same(t, find(t, s, next.ID, now), next)
}

func testReplaceConflicts(t *testing.T, s storage.Store) {
	now := clock()
	tests := []struct {
		name  string
		oldID func(t *testing.T) string
	}{
		{"missing", func(*testing.T) string { return newID() }},
		{"expired", func(t *testing.T) string { return create(t, s, expired(now)).ID }},
		{"changed since", func(t *testing.T) string {
			rec := create(t, s, live(now))
			if err := s.Update(t.Context(), rec, now); err != nil {
				t.Fatalf("Update error = %v, want nil", err)
			}
			return rec.ID // at version 2; Replace expects 1
		}},
		{"deleted", func(t *testing.T) string {
			id := create(t, s, live(now)).ID
			if _, err := s.Delete(t.Context(), id); err != nil {
				t.Fatalf("Delete error = %v, want nil", err)
			}
			return id
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldID := tc.oldID(t)
			next := live(now)
			wantConflict(t, "Replace", s.Replace(t.Context(), oldID, 1, next, now))
			missing(t, s, next.ID, now)
		})
	}
}

// testReplaceStaleVersion: a renewal that read the record before another
// request updated it must not delete that update with the old record.
func testReplaceStaleVersion(t *testing.T, s storage.Store) {
	now := clock()
	old := create(t, s, live(now))
	updated := old
	updated.Data = []byte("saved meanwhile")
	if err := s.Update(t.Context(), updated, now); err != nil {
		t.Fatalf("Update error = %v, want nil", err)
	}
	updated.Version = 2
	next := live(now)
	wantConflict(t, "Replace at the version read before the update", s.Replace(t.Context(), old.ID, old.Version, next, now))
	same(t, find(t, s, old.ID, now), updated)
	missing(t, s, next.ID, now)
	if err := s.Replace(t.Context(), old.ID, updated.Version, next, now); err != nil {
		t.Fatalf("Replace at the current version error = %v, want nil", err)
	}
	missing(t, s, old.ID, now)
	next.Version = 1
	same(t, find(t, s, next.ID, now), next)
}

// testReplaceAgainstUpdate races renewals against updates of one record,
// as a login racing the requests of its session does: whatever the
// interleaving, exactly the operations that succeeded are in the result.
// Each round, one Replace and several Updates start at version 1 together:
// either the Replace wins and every Update conflicts, or an Update wins and
// the Replace conflicts (it read an older version) and the record keeps
// the winning update.
func testReplaceAgainstUpdate(t *testing.T, s storage.Store) {
	const rounds, updates = 20, 4
	now := clock()
	for round := range rounds {
		old := create(t, s, live(now))
		next := live(now)
		next.Data = []byte("renewed")
		var replaceErr error
		updateErrs := make([]error, updates)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			replaceErr = s.Replace(t.Context(), old.ID, old.Version, next, now)
		})
		for i := range updates {
			wg.Go(func() {
				changed := old
				changed.Data = []byte{byte(i)}
				<-start
				updateErrs[i] = s.Update(t.Context(), changed, now)
			})
		}
		close(start)
		wg.Wait()
		won := -1
		for i, err := range updateErrs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: updates %d and %d both succeeded at version 1", round, won, i)
				}
				won = i
				continue
			}
			wantConflict(t, "Update racing a Replace", err)
		}
		switch {
		case replaceErr == nil && won >= 0:
			t.Fatalf("round %d: Replace and Update %d both succeeded on version 1: the update is lost", round, won)
		case replaceErr == nil:
			missing(t, s, old.ID, now)
			next.Version = 1
			same(t, find(t, s, next.ID, now), next)
		case won >= 0:
			wantConflict(t, "Replace racing an Update", replaceErr)
			missing(t, s, next.ID, now)
			if got := find(t, s, old.ID, now); got.Version != 2 || !bytes.Equal(got.Data, []byte{byte(won)}) {
				t.Fatalf("round %d: record = version %d, data %q; want 2, the winning update's %q", round, got.Version, got.Data, []byte{byte(won)})
			}
		default:
			t.Fatalf("round %d: neither the Replace (%v) nor any Update succeeded", round, replaceErr)
		}
	}
}

func testReplaceOntoExistingID(t *testing.T, s storage.Store) {
	now := clock()
	old := create(t, s, live(now))
	taken := create(t, s, live(now))
	next := live(now)
	next.ID, next.Data = taken.ID, []byte("intruder")
	if err := s.Replace(t.Context(), old.ID, old.Version, next, now); err == nil {
		t.Errorf("Replace onto an existing id error = nil, want an error")
	}
	same(t, find(t, s, old.ID, now), old)
	same(t, find(t, s, taken.ID, now), taken)
}

func testReplaceConcurrent(t *testing.T, s storage.Store) {
	const n = 8
	now := clock()
	old := create(t, s, live(now))
	recs := make([]storage.Record, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		recs[i] = live(now)
		wg.Go(func() {
			<-start
			errs[i] = s.Replace(t.Context(), old.ID, old.Version, recs[i], now)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i, err := range errs {
		if err != nil {
			wantConflict(t, "concurrent Replace", err)
			missing(t, s, recs[i].ID, now)
			continue
		}
		wins++
		find(t, s, recs[i].ID, now)
	}
	if wins != 1 {
		t.Errorf("%d concurrent Replace of one record succeeded, want exactly 1", wins)
	}
	missing(t, s, old.ID, now)
}

func testDelete(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	other := create(t, s, live(now))
	for i, want := range [][]storage.Record{{rec}, nil} { // the second time it is missing
		removed, err := s.Delete(t.Context(), rec.ID)
		if err != nil {
			t.Fatalf("Delete #%d error = %v, want nil", i+1, err)
		}
		wantRemoved(t, fmt.Sprintf("Delete #%d", i+1), removed, want)
		missing(t, s, rec.ID, now)
	}
	same(t, find(t, s, other.ID, now), other)
}

// testDeleteConcurrent: of 8 concurrent Deletes of one record, exactly one
// gets it back, so that its event is reported once.
func testDeleteConcurrent(t *testing.T, s storage.Store) {
	for range 5 {
		rec := create(t, s, live(clock()))
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				removed, err := s.Delete(t.Context(), rec.ID)
				if err != nil {
					t.Errorf("Delete error = %v", err)
				}
				wins.Add(int32(len(removed)))
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("8 concurrent Deletes returned the record %d times, want once", n)
		}
	}
}

// ids returns the ids of recs, sorted.
func ids(recs []storage.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

// wantRemoved fails the test unless removed holds exactly want, by ID,
// UserID and Handle.
func wantRemoved(t *testing.T, call string, removed, want []storage.Record) {
	t.Helper()
	if got, w := ids(removed), ids(want); !slices.Equal(got, w) {
		t.Fatalf("%s removed %q, want %q", call, got, w)
	}
	byID := map[string]storage.Record{}
	for _, r := range want {
		byID[r.ID] = r
	}
	for _, r := range removed {
		if w := byID[r.ID]; r.UserID != w.UserID || r.Handle != w.Handle {
			t.Errorf("%s: removed %s with user %q, handle %q; want %q, %q", call, r.ID, r.UserID, r.Handle, w.UserID, w.Handle)
		}
	}
}

func testListUser(t *testing.T, s storage.Store) {
	now := clock()
	var want []storage.Record
	for range 3 {
		rec := live(now)
		rec.UserID = "alice"
		want = append(want, create(t, s, rec))
	}
	old := expired(now)
	old.UserID = "alice"
	create(t, s, old)
	for _, user := range []string{"bob", "", "Alice"} {
		rec := live(now)
		rec.UserID = user
		create(t, s, rec)
	}
	got, err := s.ListUser(t.Context(), "alice", now)
	if err != nil {
		t.Fatalf("ListUser error = %v, want nil", err)
	}
	if g, w := ids(got), ids(want); !slices.Equal(g, w) {
		t.Fatalf("ListUser = %q, want the live sessions of alice %q", g, w)
	}
	for _, r := range got {
		w := want[slices.IndexFunc(want, func(w storage.Record) bool { return w.ID == r.ID })]
		sameMeta(t, r, w)
		if r.UserID != "alice" || r.Version != 1 || r.Persistent != w.Persistent {
			t.Errorf("ListUser record %s: UserID %q, Version %d, Persistent %v; want alice, 1, %v", r.ID, r.UserID, r.Version, r.Persistent, w.Persistent)
		}
	}
}

func testDeleteUser(t *testing.T, s storage.Store) {
	now := clock()
	var want []storage.Record
	for _, rec := range []storage.Record{live(now), live(now), expired(now)} {
		rec.UserID = "alice"
		want = append(want, create(t, s, rec))
	}
	var kept []storage.Record
	for _, user := range []string{"bob", "", "alice2", "Alice"} {
		rec := live(now)
		rec.UserID = user
		kept = append(kept, create(t, s, rec))
	}

	got, err := s.DeleteUser(t.Context(), "alice", "")
	if err != nil {
		t.Fatalf("DeleteUser error = %v, want nil", err)
	}
	wantRemoved(t, "DeleteUser", got, want)
	for _, rec := range want {
		missing(t, s, rec.ID, now.Add(-2*time.Hour))
	}
	for _, rec := range kept {
		same(t, find(t, s, rec.ID, now), rec)
	}

	got, err = s.DeleteUser(t.Context(), "alice", "")
	if err != nil || len(got) != 0 {
		t.Errorf("DeleteUser again = %q, %v; want nothing, nil", ids(got), err)
	}
}

func testDeleteUserKeeping(t *testing.T, s storage.Store) {
	now := clock()
	var recs []storage.Record
	for range 3 {
		rec := live(now)
		rec.UserID = "alice"
		recs = append(recs, create(t, s, rec))
	}
	got, err := s.DeleteUser(t.Context(), "alice", recs[1].ID)
	if err != nil {
		t.Fatalf("DeleteUser error = %v, want nil", err)
	}
	wantRemoved(t, "DeleteUser keeping one", got, []storage.Record{recs[0], recs[2]})
	same(t, find(t, s, recs[1].ID, now), recs[1])
}

func testDeleteExpired(t *testing.T, s storage.Store) {
	now := clock()
	var gone []storage.Record
	for _, ago := range []time.Duration{time.Hour, time.Second, time.Microsecond, 0} {
		rec := live(now.Add(-2 * time.Hour))
		rec.ExpiresAt = now.Add(-ago)
		gone = append(gone, create(t, s, rec))
	}
	var kept []storage.Record
	for _, left := range []time.Duration{time.Microsecond, time.Hour} {
		rec := live(now)
		rec.ExpiresAt = now.Add(left)
		kept = append(kept, create(t, s, rec))
	}

	removed := inBatches(t, "DeleteExpired", func(limit int) ([]storage.Record, error) { return s.DeleteExpired(t.Context(), now, limit) })
	wantRemoved(t, "DeleteExpired", removed, gone)
	for _, rec := range gone {
		missing(t, s, rec.ID, now.Add(-3*time.Hour))
	}
	for _, rec := range kept {
		same(t, find(t, s, rec.ID, now), rec)
	}
}

// inBatches calls del, named call, with a limit of 3 on 4 matching records:
// it must remove 3, then 1, then none. It returns what it removed.
func inBatches(t *testing.T, call string, del func(limit int) ([]storage.Record, error)) []storage.Record {
	t.Helper()
	var removed []storage.Record
	for _, want := range []int{3, 1, 0} {
		got, err := del(3)
		if err != nil || len(got) != want {
			t.Fatalf("%s(limit 3) after %d = %d records, %v; want %d, nil", call, len(removed), len(got), err, want)
		}
		removed = append(removed, got...)
	}
	return removed
}

func testDeleteAll(t *testing.T, s storage.Store) {
	now := clock()
	var all []storage.Record
	for _, rec := range []storage.Record{live(now), live(now), live(now), expired(now)} {
		all = append(all, create(t, s, rec))
	}
	removed := inBatches(t, "DeleteAll", func(limit int) ([]storage.Record, error) { return s.DeleteAll(t.Context(), limit) })
	wantRemoved(t, "DeleteAll", removed, all)
	for _, rec := range all {
		missing(t, s, rec.ID, now.Add(-3*time.Hour))
	}
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping error = %v, want nil", err)
	}
}

func testCancelledContext(t *testing.T, s storage.Store) {
	now := clock()
	rec := create(t, s, live(now))
	fresh := live(now)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	changed := rec
	changed.Data = []byte("changed")
	calls := []struct {
		name string
		call func() error
	}{
		{"Find", func() error { _, _, err := s.Find(ctx, newID(), now); return err }},
		{"Create", func() error { return s.Create(ctx, fresh) }},
		{"Update", func() error { return s.Update(ctx, changed, now) }},
		{"Touch", func() error { return s.Touch(ctx, rec.ID, now.Add(time.Hour), now, now) }},
		{"UpdateLocked", func() error {
			return s.UpdateLocked(ctx, rec.ID, now, func(cur storage.Record) (storage.Record, error) { return changed, nil })
		}},
		{"Replace", func() error { return s.Replace(ctx, rec.ID, rec.Version, fresh, now) }},
		{"Delete", func() error { _, err := s.Delete(ctx, rec.ID); return err }},
		{"ListUser", func() error { _, err := s.ListUser(ctx, rec.UserID, now); return err }},
		{"DeleteUser", func() error { _, err := s.DeleteUser(ctx, rec.UserID, ""); return err }},
		{"DeleteExpired", func() error { _, err := s.DeleteExpired(ctx, now.Add(time.Hour), 10); return err }},
		{"DeleteAll", func() error { _, err := s.DeleteAll(ctx, 10); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("%s with a cancelled context error = %v, want an error wrapping core.ErrUnavailable", c.name, err)
		}
	}
	same(t, find(t, s, rec.ID, now), rec)
	missing(t, s, fresh.ID, now)
}
