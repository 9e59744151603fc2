package peers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultDSN is the server the database-backed apps use when
// HYBRIDSESSION_TEST_POSTGRES is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Counter is a pgx QueryTracer that counts the SQL statements sent to the
// server: every query and exec, BEGIN and COMMIT included, whether prepared
// or not. pgx's own keep-alive pings are not statements of the app and are
// not counted.
type Counter struct{ n atomic.Int64 }

var _ pgx.QueryTracer = (*Counter)(nil)

// TraceQueryStart implements pgx.QueryTracer.
func (c *Counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if data.SQL != "-- ping" {
		c.n.Add(1)
	}
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *Counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Load returns the number of statements counted so far.
func (c *Counter) Load() int64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// OpenDB opens dsn as a database/sql pool on pgx whose statements c
// counts, with at most maxConns connections. schema, when not empty, is the
// search_path of every connection.
func OpenDB(dsn string, c *Counter, maxConns int, schema string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	cfg.Tracer = c
	if schema != "" {
		cfg.RuntimeParams["search_path"] = schema
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return db, nil
}

// PrivateDB is a database created for one run, dropped by Drop.
type PrivateDB struct {
	Name  string
	DSN   string // the DSN of the new database
	admin string
}

// CreatePrivateDB creates the database hs_bench_<random> on the server of
// adminDSN and returns it.
func CreatePrivateDB(ctx context.Context, adminDSN string) (*PrivateDB, error) {
	u, err := url.Parse(adminDSN)
	if err != nil {
		return nil, fmt.Errorf("parse dsn: %w", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "hs_bench_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	return &PrivateDB{Name: name, DSN: u.String(), admin: adminDSN}, nil
}

// Drop drops the database, closing whatever connections are left.
func (p *PrivateDB) Drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.admin)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+p.Name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", p.Name, err)
	}
	return nil
}
