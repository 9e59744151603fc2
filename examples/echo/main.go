// Command echo is the Echo example app of hybridsession: a page and a small
// JSON API whose sessions live in SQL behind an in-process cache. Run it
// from the repository root with no setup (it keeps its sessions in the
// SQLite file sessions.db):
//
//	go run ./examples/echo
//	go run ./examples/echo -dsn postgres://user@localhost/app -addr :8081
//
// Flags and their environment variables are listed by -h; demo.Run spells
// out the setup (flags, database and session manager, serving); the routes are
// the HTTP contract in examples/README.md, written in package echoapp.
package main

import (
	"net/http"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/internal/demo"
)

func main() {
	demo.Run("echo", "127.0.0.1:8081", func(m *core.Manager, cfg demo.Config) http.Handler {
		return echoapp.New(m, cfg.FreshAge)
	})
}
