package peers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	scsmemstore "github.com/alexedwards/scs/v2/memstore"
	"github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	gingorm "github.com/gin-contrib/sessions/gorm"
	ginmemstore "github.com/gin-contrib/sessions/memstore"
	ginpostgres "github.com/gin-contrib/sessions/postgres"
	"github.com/gin-gonic/gin"
	gorillasessions "github.com/gorilla/sessions"
	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/core/storage"
	"github.com/hybridsession/hybridsession/echosession"
	"github.com/hybridsession/hybridsession/ginsession"
	"github.com/hybridsession/hybridsession/gormstore"
	echosessions "github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The four routes every app serves. Each answers with the session's counter
// as text (the bare apps with a constant).
const (
	RouteRead      = "/read"      // GET: read the counter
	RouteChange    = "/change"    // POST: add one to the counter
	RouteNew       = "/new"       // POST: a new session holding counter 1
	RouteUntouched = "/untouched" // GET: never touches the session
)

// Route is one of the four routes, with how it is requested.
type Route struct {
	Name   string // read, change, new, untouched
	Method string
	Path   string
	// Session is whether the request carries the cookie of an existing
	// session; the new route is requested without one.
	Session bool
}

// Routes are the four routes, in report order.
var Routes = []Route{
	{"read", http.MethodGet, RouteRead, true},
	{"change", http.MethodPost, RouteChange, true},
	{"new", http.MethodPost, RouteNew, false},
	{"untouched", http.MethodGet, RouteUntouched, true},
}

// App is one web app under test.
type App struct {
	Name      string // e.g. "hybridsession+gin (pg)"
	Library   string // hybridsession, gin-contrib/sessions, scs, echo-contrib/session, none
	Framework string // gin or echo
	Store     string // postgres, gorm (pg), memstore, cookie, none
	Durable   bool   // sessions survive a restart (in a database)
	Handler   http.Handler
	// SQL counts the app's statements; nil for apps without a database.
	SQL *Counter
	// Manager is hybridsession's manager and Sessions its gormstore, nil for
	// the other apps.
	Manager  *core.Manager
	Sessions storage.Store

	closers []func()
}

// Floor reports whether a is a bare framework: the baseline.
func (a *App) Floor() bool { return a.Library == "none" }

// Close releases the app's connections and background work.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// Env is what the apps are built from.
type Env struct {
	DSN      string // the private database; "" builds only the in-memory apps
	MaxConns int    // connections per app pool
	Secret   []byte // cookie signing key of the gorilla-based stores
}

func (e Env) open(schema string) (*sql.DB, *Counter, error) {
	c := &Counter{}
	db, err := OpenDB(e.DSN, c, e.MaxConns, schema)
	return db, c, err
}

func init() { gin.SetMode(gin.ReleaseMode) }

// BuildApps returns every app of the comparison; the floors first. On
// error, the apps already built are closed.
func BuildApps(ctx context.Context, env Env) ([]*App, error) {
	builders := []func(context.Context, Env) (*App, error){
		BareGin, BareEcho,
		func(ctx context.Context, env Env) (*App, error) { return HybridGin(ctx, env, "", true) },
		func(ctx context.Context, env Env) (*App, error) { return HybridEcho(ctx, env) },
		GinContribGorm, GinContribPostgres, GinContribMemstore, GinContribCookie,
		SCSPostgres, SCSMemstore, EchoContribCookie,
	}
	var apps []*App
	for _, build := range builders {
		a, err := build(ctx, env)
		if err != nil {
			for _, a := range apps {
				a.Close()
			}
			return nil, err
		}
		apps = append(apps, a)
	}
	return apps, nil
}

func text(n int) string { return strconv.Itoa(n) }

// BareGin is Gin without sessions, answering as the session apps do.
func BareGin(context.Context, Env) (*App, error) {
	r := gin.New()
	r.GET(RouteRead, func(c *gin.Context) { c.String(http.StatusOK, "1") })
	r.POST(RouteChange, func(c *gin.Context) { c.String(http.StatusOK, "2") })
	r.POST(RouteNew, func(c *gin.Context) { c.String(http.StatusOK, "1") })
	r.GET(RouteUntouched, func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	return &App{Name: "gin (bare)", Library: "none", Framework: "gin", Store: "none", Handler: r}, nil
}

// BareEcho is Echo without sessions, answering as the session apps do.
func BareEcho(context.Context, Env) (*App, error) {
	e := newEcho()
	e.GET(RouteRead, func(c echo.Context) error { return c.String(http.StatusOK, "1") })
	e.POST(RouteChange, func(c echo.Context) error { return c.String(http.StatusOK, "2") })
	e.POST(RouteNew, func(c echo.Context) error { return c.String(http.StatusOK, "1") })
	e.GET(RouteUntouched, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	return &App{Name: "echo (bare)", Library: "none", Framework: "echo", Store: "none", Handler: e}, nil
}

func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard)
	return e
}

// hybridManager returns a manager on gormstore in the private database
// (in schema, when not empty), with the cache on and RunInvalidations
// running and listening, unless cached is false.
func hybridManager(ctx context.Context, env Env, schema string, cached bool) (*core.Manager, *gormstore.Store, *Counter, []func(), error) {
	db, counter, err := env.open(schema)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	// One more connection than the peers: the LISTEN of the invalidations
	// holds one for good.
	db.SetMaxOpenConns(env.MaxConns + 1)
	db.SetMaxIdleConns(env.MaxConns + 1)
	closers := []func(){func() { db.Close() }}
	fail := func(err error) (*core.Manager, *gormstore.Store, *Counter, []func(), error) {
		for _, c := range closers {
			c()
		}
		return nil, nil, nil, nil, err
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: db}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return fail(fmt.Errorf("hybridsession: gorm: %w", err))
	}
	store, err := gormstore.New(gdb, gormstore.Options{})
	if err != nil {
		return fail(err)
	}
	if err := store.Migrate(ctx); err != nil {
		return fail(err)
	}
	cfg := core.Config{Logger: slog.New(slog.DiscardHandler)}
	if !cached {
		cfg.Cache.TTL = -1
	}
	m, err := core.NewManager(store, cfg)
	if err != nil {
		return fail(err)
	}
	if cached {
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.RunInvalidations(runCtx); close(done) }()
		closers = append([]func(){func() { cancel(); <-done }}, closers...)
		deadline := time.Now().Add(10 * time.Second)
		for m.Stats().Bypassed {
			if time.Now().After(deadline) {
				return fail(errors.New("hybridsession: RunInvalidations did not start listening within 10s"))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return m, store, counter, closers, nil
}

// HybridGin is hybridsession through ginsession on gormstore (PostgreSQL).
// schema, when not empty, is the PostgreSQL schema of its table; cached
// false turns the in-process cache off.
func HybridGin(ctx context.Context, env Env, schema string, cached bool) (*App, error) {
	m, store, counter, closers, err := hybridManager(ctx, env, schema, cached)
	if err != nil {
		return nil, err
	}
	r := gin.New()
	r.Use(ginsession.Middleware(m))
	r.GET(RouteRead, func(c *gin.Context) {
		n, _ := core.Get[int](ginsession.From(c), "count")
		c.String(http.StatusOK, text(n))
	})
	r.POST(RouteChange, func(c *gin.Context) {
		s := ginsession.From(c)
		n, _ := core.Get[int](s, "count")
		s.Set("count", n+1)
		c.String(http.StatusOK, text(n+1))
	})
	r.POST(RouteNew, func(c *gin.Context) {
		ginsession.From(c).Set("count", 1)
		c.String(http.StatusOK, "1")
	})
	r.GET(RouteUntouched, func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	name := "hybridsession+gin (pg)"
	if !cached {
		name = "hybridsession+gin (pg, no cache)"
	}
	return &App{Name: name, Library: "hybridsession", Framework: "gin", Store: "gormstore (pg) + cache",
		Durable: true, Handler: r, SQL: counter, Manager: m, Sessions: store, closers: closers}, nil
}

// HybridEcho is hybridsession through echosession on gormstore (PostgreSQL).
func HybridEcho(ctx context.Context, env Env) (*App, error) {
	m, store, counter, closers, err := hybridManager(ctx, env, "", true)
	if err != nil {
		return nil, err
	}
	e := newEcho()
	e.Use(echosession.Middleware(m))
	e.GET(RouteRead, func(c echo.Context) error {
		n, _ := core.Get[int](echosession.From(c), "count")
		return c.String(http.StatusOK, text(n))
	})
	e.POST(RouteChange, func(c echo.Context) error {
		s := echosession.From(c)
		n, _ := core.Get[int](s, "count")
		s.Set("count", n+1)
		return c.String(http.StatusOK, text(n+1))
	})
	e.POST(RouteNew, func(c echo.Context) error {
		echosession.From(c).Set("count", 1)
		return c.String(http.StatusOK, "1")
	})
	e.GET(RouteUntouched, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	return &App{Name: "hybridsession+echo (pg)", Library: "hybridsession", Framework: "echo", Store: "gormstore (pg) + cache",
		Durable: true, Handler: e, SQL: counter, Manager: m, Sessions: store, closers: closers}, nil
}

// ginContrib serves the routes with gin-contrib/sessions on store.
func ginContrib(store sessions.Store) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.GET(RouteRead, func(c *gin.Context) {
		n, _ := sessions.Default(c).Get("count").(int)
		c.String(http.StatusOK, text(n))
	})
	r.POST(RouteChange, func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := s.Get("count").(int)
		s.Set("count", n+1)
		if err := s.Save(); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.String(http.StatusOK, text(n+1))
	})
	r.POST(RouteNew, func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("count", 1)
		if err := s.Save(); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.String(http.StatusOK, "1")
	})
	r.GET(RouteUntouched, func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	return r
}

// GinContribGorm is gin-contrib/sessions with its gorm backend on PostgreSQL.
func GinContribGorm(_ context.Context, env Env) (*App, error) {
	db, counter, err := env.open("")
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: db}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("gin-contrib gorm: %w", err)
	}
	store := gingorm.NewStore(gdb, false, env.Secret)
	return &App{Name: "gin-contrib/sessions gorm (pg)", Library: "gin-contrib/sessions", Framework: "gin", Store: "gorm (pg)",
		Durable: true, Handler: ginContrib(store), SQL: counter, closers: []func(){func() { db.Close() }}}, nil
}

// GinContribPostgres is gin-contrib/sessions with its postgres backend.
func GinContribPostgres(_ context.Context, env Env) (*App, error) {
	db, counter, err := env.open("")
	if err != nil {
		return nil, err
	}
	store, err := ginpostgres.NewStore(db, env.Secret)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("gin-contrib postgres: %w", err)
	}
	return &App{Name: "gin-contrib/sessions postgres", Library: "gin-contrib/sessions", Framework: "gin", Store: "postgres",
		Durable: true, Handler: ginContrib(store), SQL: counter, closers: []func(){func() { db.Close() }}}, nil
}

// GinContribMemstore is gin-contrib/sessions with its in-memory backend.
func GinContribMemstore(_ context.Context, env Env) (*App, error) {
	return &App{Name: "gin-contrib/sessions memstore", Library: "gin-contrib/sessions", Framework: "gin", Store: "memstore",
		Handler: ginContrib(ginmemstore.NewStore(env.Secret))}, nil
}

// GinContribCookie is gin-contrib/sessions with its cookie backend.
func GinContribCookie(_ context.Context, env Env) (*App, error) {
	return &App{Name: "gin-contrib/sessions cookie", Library: "gin-contrib/sessions", Framework: "gin", Store: "cookie",
		Handler: ginContrib(gincookie.NewStore(env.Secret))}, nil
}

// scsTable is the table of scs's postgresstore, the schema its README gives.
const scsTable = `
CREATE TABLE IF NOT EXISTS scs_sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS scs_sessions_expiry_idx ON scs_sessions (expiry);`

// scsGin serves the routes with scs's LoadAndSave around a Gin engine.
func scsGin(store scs.Store) http.Handler {
	sm := scs.New()
	sm.Store = store
	r := gin.New()
	r.GET(RouteRead, func(c *gin.Context) {
		c.String(http.StatusOK, text(sm.GetInt(c.Request.Context(), "count")))
	})
	r.POST(RouteChange, func(c *gin.Context) {
		ctx := c.Request.Context()
		n := sm.GetInt(ctx, "count") + 1
		sm.Put(ctx, "count", n)
		c.String(http.StatusOK, text(n))
	})
	r.POST(RouteNew, func(c *gin.Context) {
		sm.Put(c.Request.Context(), "count", 1)
		c.String(http.StatusOK, "1")
	})
	r.GET(RouteUntouched, func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	return sm.LoadAndSave(r)
}

// SCSPostgres is scs with its postgresstore, under Gin.
func SCSPostgres(ctx context.Context, env Env) (*App, error) {
	db, counter, err := env.open("")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, scsTable); err != nil {
		db.Close()
		return nil, fmt.Errorf("scs: create table: %w", err)
	}
	store := postgresstore.NewWithConfig(db, postgresstore.Config{TableName: "scs_sessions"})
	return &App{Name: "scs postgresstore", Library: "scs", Framework: "gin", Store: "postgresstore",
		Durable: true, Handler: scsGin(store), SQL: counter, closers: []func(){func() { db.Close() }}}, nil
}

// SCSMemstore is scs with its memstore, under Gin.
func SCSMemstore(context.Context, Env) (*App, error) {
	store := scsmemstore.NewWithCleanupInterval(time.Minute)
	return &App{Name: "scs memstore", Library: "scs", Framework: "gin", Store: "memstore",
		Handler: scsGin(store), closers: []func(){store.StopCleanup}}, nil
}

// EchoContribCookie is echo-contrib/session on a gorilla cookie store.
func EchoContribCookie(_ context.Context, env Env) (*App, error) {
	e := newEcho()
	e.Use(echosessions.Middleware(gorillasessions.NewCookieStore(env.Secret)))
	e.GET(RouteRead, func(c echo.Context) error {
		s, err := echosessions.Get("session", c)
		if err != nil {
			return err
		}
		n, _ := s.Values["count"].(int)
		return c.String(http.StatusOK, text(n))
	})
	e.POST(RouteChange, func(c echo.Context) error {
		s, err := echosessions.Get("session", c)
		if err != nil {
			return err
		}
		n, _ := s.Values["count"].(int)
		s.Values["count"] = n + 1
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, text(n+1))
	})
	e.POST(RouteNew, func(c echo.Context) error {
		s, err := echosessions.Get("session", c)
		if err != nil {
			return err
		}
		s.Values["count"] = 1
		if err := s.Save(c.Request(), c.Response()); err != nil {
			return err
		}
		return c.String(http.StatusOK, "1")
	})
	e.GET(RouteUntouched, func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	return &App{Name: "echo-contrib/session cookie", Library: "echo-contrib/session", Framework: "echo", Store: "cookie",
		Handler: e}, nil
}
