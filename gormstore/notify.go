package gormstore

import (
	"context"
	"database/sql/driver"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/jackc/pgx/v5/stdlib"
)

// notifyChannel is the PostgreSQL channel on which hybrid_sessions announces
// its changes, through the trigger that Migrate installs.
const notifyChannel = "hybrid_sessions"

// notifySQL makes PostgreSQL announce every change of a session's data and
// every removal of a live session on notifyChannel, as "<id>:<version>"
// (version 0 for a removal), those of one statement joined by commas. The announcement is part of the writing
// statement's transaction: it costs no round trip, and is sent only if the
// change commits. Expiry refreshes (the version stays) and the cleanup of
// expired rows (never served anyway) are not announced.
//
// It is the migration file of schema version 2 (see Migrations), so that
// the triggers are written once: it also sets the version to 2, which
// Migrate then overwrites with schemaVersion.
//
//go:embed migrations/postgres/000002_notify_triggers.up.sql
var notifySQL string

// The listener checks its connection after listenCheckEvery of silence and
// gives up when the check takes longer than listenCheckTimeout: a dead
// connection that nobody closed is noticed within their sum, and the cache
// is bypassed from then on. Variables, so that tests can shorten them.
var (
	listenCheckEvery   = 5 * time.Second
	listenCheckTimeout = 3 * time.Second
)

// triggerInstalledSQL tells whether both triggers of notifySQL exist, in
// their statement-level form (tgtype bit 0 is FOR EACH ROW).
const triggerInstalledSQL = `SELECT count(*) = 2 FROM pg_trigger
	WHERE tgname IN ('hybrid_sessions_notify', 'hybrid_sessions_notify_delete')
		AND tgrelid = to_regclass('hybrid_sessions') AND tgtype & 1 = 0`

// Invalidations implements storage.SharedStore. On PostgreSQL the store is
// shared by every app instance, and its changes are announced with
// LISTEN/NOTIFY; on SQLite it returns nil, as one process owns the file.
func (s *Store) Invalidations() storage.InvalidationSource {
	if s.db.Dialector.Name() != "postgres" {
		return nil
	}
	return listener{s}
}

var _ storage.SharedStore = (*Store)(nil)

// listener receives the table's announcements on a connection of its own,
// taken from the store's pool for as long as it listens.
type listener struct{ s *Store }

// Listen implements storage.InvalidationSource with LISTEN on a dedicated
// connection. When the connection fails it is closed, not returned to the
// pool, and Listen returns the error; the caller reconnects.
func (l listener) Listen(ctx context.Context, ready func(), deliver func(storage.Invalidation)) error {
	pool, err := l.s.db.DB()
	if err != nil {
		return failed("listen", err)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return failed("listen", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("gormstore: listen: needs gorm.io/driver/postgres on pgx, got a %T connection", dc)
		}
		c := pc.Conn()
		// Without the trigger nothing is announced, and a cache trusting
		// the silence would serve stale sessions.
		var installed bool
		if err := c.QueryRow(ctx, triggerInstalledSQL).Scan(&installed); err != nil {
			return discard(failed("listen: check trigger", err))
		}
		if !installed {
			return discard(errors.New("gormstore: listen: the hybrid_sessions_notify triggers are missing; run Store.Migrate or apply the migrations of gormstore/migrations/postgres"))
		}
		if _, err := c.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
			return discard(failed("listen", err))
		}
		ready()
		for {
			wait, cancel := context.WithTimeout(ctx, listenCheckEvery)
			n, err := c.WaitForNotification(wait)
			cancel()
			if err != nil && ctx.Err() == nil && wait.Err() != nil {
				// Silence: make sure it is not a dead connection (a network
				// partition, a hung server), which would never say so.
				// pgx keeps the connection usable after a timed-out wait.
				check, cancel := context.WithTimeout(ctx, listenCheckTimeout)
				err = c.Ping(check)
				cancel()
				if err == nil {
					continue
				}
			}
			if err != nil {
				// Also on cancellation: the connection still listens.
				return discard(failed("listen", err))
			}
			for item := range strings.SplitSeq(n.Payload, ",") {
				if inv, ok := parseNotification(item); ok {
					deliver(inv)
				}
			}
		}
	})
}

// discard makes database/sql close the connection instead of pooling it.
func discard(err error) error { return errors.Join(driver.ErrBadConn, err) }

// parseNotification reads one "<id>:<version>" of a notification.
func parseNotification(payload string) (storage.Invalidation, bool) {
	id, v, ok := strings.Cut(payload, ":")
	version, err := strconv.ParseInt(v, 10, 64)
	if !ok || err != nil || id == "" {
		return storage.Invalidation{}, false
	}
	return storage.Invalidation{ID: id, Version: version}, true
}
