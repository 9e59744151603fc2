// Command gin is the Gin example app of hybridsession: a page and a small
// JSON API whose sessions live in SQL behind an in-process cache. Run it
// from the repository root with no setup (it keeps its sessions in the
// SQLite file sessions.db):
//
//	go run ./examples/gin
//	go run ./examples/gin -dsn postgres://user@localhost/app -addr :8080
//
// Flags and their environment variables are listed by -h; demo.Run spells
// out the setup (flags, database and session manager, serving); the routes are
// the HTTP contract in examples/README.md, written in package ginapp.
package main

import (
	"net/http"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

func main() {
	demo.Run("gin", "127.0.0.1:8080", func(m *core.Manager, cfg demo.Config) http.Handler {
		return ginapp.New(m, cfg.FreshAge)
	})
}
