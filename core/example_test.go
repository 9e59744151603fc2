package core_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/memstore"
)

// A counter in the session of a plain net/http app: the first request
// creates the session, the second reads it back through its cookie.
func ExampleManager_Middleware() {
	m, err := core.NewManager(memstore.New(), core.Config{})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /counter", func(w http.ResponseWriter, r *http.Request) {
		s, _ := core.FromContext(r.Context())
		n, err := core.Modify(r.Context(), s, "count", func(n int, _ bool) int { return n + 1 })
		if err != nil {
			http.Error(w, "session unavailable", core.StatusCode(err))
			return
		}
		fmt.Fprintf(w, "count=%d", n)
	})
	h := m.Middleware(mux)

	var cookie *http.Cookie
	for range 2 {
		req := httptest.NewRequest(http.MethodPost, "/counter", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookie = c[0]
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// count=1
	// count=2
}

// Typed reads give back exactly what was set.
func ExampleGet() {
	m, _ := core.NewManager(memstore.New(), core.Config{})
	s, _ := m.Begin(httptest.NewRequest(http.MethodGet, "/", nil))
	s.Set("id", int64(1<<53+1))
	id, ok := core.Get[int64](s, "id")
	fmt.Println(id, ok)
	_, ok = core.Get[string](s, "missing")
	fmt.Println(ok)
	// Output:
	// 9007199254740993 true
	// false
}
