package gormstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hybridsession/hybridsession/core/storage"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// tableName is the table the store keeps its records in.
const tableName = "hybrid_sessions"

// row is a record as a row of hybrid_sessions.
type row struct {
	ID         string `gorm:"column:id;primaryKey;size:64;not null"`
	UserID     string `gorm:"column:user_id;not null;index:hybrid_sessions_user_id_idx"`
	Data       []byte `gorm:"column:data;not null"`
	Version    int64  `gorm:"column:version;not null"`
	Persistent bool   `gorm:"column:persistent;not null"`
	// autoCreateTime:false: core sets CreatedAt, GORM must not.
	CreatedAt stamp `gorm:"column:created_at;not null;autoCreateTime:false"`
	Deadline  stamp `gorm:"column:deadline;not null"`
	ExpiresAt stamp `gorm:"column:expires_at;not null;index:hybrid_sessions_expires_at_idx"`

	// Schema version 4: what a list of a user's sessions shows. Added to
	// existing tables without rewriting their rows: constant defaults,
	// NULL times.
	Handle          string   `gorm:"column:handle;size:32;not null;default:''"`
	AuthenticatedAt optStamp `gorm:"column:authenticated_at"`
	LastSeenAt      optStamp `gorm:"column:last_seen_at"`
	IP              string   `gorm:"column:ip;not null;default:''"`
	UserAgent       string   `gorm:"column:user_agent;not null;default:''"`
}

// TableName tells GORM the table of row.
func (row) TableName() string { return tableName }

// data is a record's Data as its column holds it: no values are an empty,
// not a NULL, column.
func data(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// toRow returns rec as the row of a new record, at Version 1.
func toRow(rec storage.Record) row {
	return row{
		ID:         rec.ID,
		UserID:     rec.UserID,
		Data:       data(rec.Data),
		Version:    1,
		Persistent: rec.Persistent,
		CreatedAt:  stamp(rec.CreatedAt),
		Deadline:   stamp(rec.Deadline),
		ExpiresAt:  stamp(rec.ExpiresAt),

		Handle:          rec.Handle,
		AuthenticatedAt: optStamp(rec.AuthenticatedAt),
		LastSeenAt:      optStamp(rec.LastSeenAt),
		IP:              rec.IP,
		UserAgent:       rec.UserAgent,
	}
}

// record returns the record r holds.
func (r row) record() storage.Record {
	return storage.Record{
		ID:         r.ID,
		UserID:     r.UserID,
		Data:       r.Data,
		Version:    r.Version,
		Persistent: r.Persistent,
		CreatedAt:  time.Time(r.CreatedAt),
		Deadline:   time.Time(r.Deadline),
		ExpiresAt:  time.Time(r.ExpiresAt),

		Handle:          r.Handle,
		AuthenticatedAt: time.Time(r.AuthenticatedAt),
		LastSeenAt:      time.Time(r.LastSeenAt),
		IP:              r.IP,
		UserAgent:       r.UserAgent,
	}
}

// stamp is a time column, and a time compared with one. It is written in
// UTC, truncated to the microsecond that PostgreSQL keeps; on SQLite as
// fixed-width text so that text order is time order.
type stamp time.Time

// sqliteLayout is how SQLite columns hold times. SQLite compares them as
// text, so the store writes them itself, at a fixed width, rather than
// leave it to the driver. glebarez/sqlite and mattn/go-sqlite3 write
// "...05.5+00:00" and "...05+00:00", which happens to sort right because
// "+" sorts before "." and the digits; a driver writing RFC 3339 ends
// whole seconds in "Z", which sorts after them: 10:00:00Z > 10:00:00.5Z.
const sqliteLayout = "2006-01-02 15:04:05.000000-07:00"

// parseLayout reads sqliteLayout, and also the text that drivers write
// with a shorter fraction or none.
const parseLayout = "2006-01-02 15:04:05.999999999-07:00"

// GormValue writes t for db's dialect.
func (t stamp) GormValue(_ context.Context, db *gorm.DB) clause.Expr {
	u := time.Time(t).UTC().Truncate(time.Microsecond)
	if db.Dialector.Name() == "sqlite" {
		return clause.Expr{SQL: "?", Vars: []any{u.Format(sqliteLayout)}}
	}
	return clause.Expr{SQL: "?", Vars: []any{u}}
}

// Scan reads a time column: a time.Time from drivers that parse times, the
// text otherwise.
func (t *stamp) Scan(v any) error {
	var err error
	var u time.Time
	switch v := v.(type) {
	case time.Time:
		u = v
	case string:
		u, err = time.Parse(parseLayout, v)
	case []byte:
		u, err = time.Parse(parseLayout, string(v))
	default:
		err = fmt.Errorf("unsupported type %T", v)
	}
	if err != nil {
		return fmt.Errorf("gormstore: read time: %w", err)
	}
	*t = stamp(u.UTC())
	return nil
}

// optStamp is a time column that may be NULL, which stands for the zero
// time (a session that never logged in).
type optStamp time.Time

// GormValue writes t as a stamp, and the zero time as NULL.
func (t optStamp) GormValue(ctx context.Context, db *gorm.DB) clause.Expr {
	if time.Time(t).IsZero() {
		return clause.Expr{SQL: "NULL"}
	}
	return stamp(t).GormValue(ctx, db)
}

// Scan reads a stamp, and NULL as the zero time.
func (t *optStamp) Scan(v any) error {
	if v == nil {
		*t = optStamp{}
		return nil
	}
	return (*stamp)(t).Scan(v)
}
