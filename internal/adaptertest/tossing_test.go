package adaptertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybridsession/hybridsession/core/storetest"
)

// Cookie tossing: a sibling subdomain, or anyone on plain HTTP, can set a
// cookie of the session's name for a longer path, which browsers send
// first. Junk or a forged token sent first must neither hide the user's
// real cookie nor get it expired, and costs no lookup.
func TestCookieTossing(t *testing.T) {
	forged := "tAwLqzK0-zv2ZxrwCX8ozJ1B1s7wbN8_tNIcyyRYfZA" // well-formed; no key tagged it
	for _, eng := range engines {
		for _, md := range modes {
			t.Run(eng.name+"/"+md.name, func(t *testing.T) {
				f := newFixture(t, eng, md.cfg)
				live := f.login(t).Value
				for _, c := range []struct{ name, header string }{
					{"junk first", "session=x; session=" + live},
					{"empty first", "session=; session=" + live},
					{"forged first", "session=" + forged + "; session=" + live},
					{"forged in an earlier header", "session=" + forged + "\n" + "session=" + live},
					{"junk and forged first", "a=1; session=" + forged + "; session=%00; b=2; session=" + live},
				} {
					t.Run(c.name, func(t *testing.T) {
						res := f.getCookies(t, "/get/string", strings.Split(c.header, "\n"))
						if got := body(t, res); got != handlerMark+"kept" {
							t.Errorf("body = %q, want the live session's %q", got, handlerMark+"kept")
						}
						checkCookie(t, res, nil, noCookie)
					})
				}
				// Only junk: a fresh session, no lookup, nothing expired.
				f.store.Reset()
				lookups := f.cacheLookups()
				res := f.getCookies(t, "/get/string", []string{"session=x; session=" + forged})
				if got := body(t, res); got != handlerMark {
					t.Errorf("only junk: body = %q, want an empty session", got)
				}
				checkCookie(t, res, nil, noCookie)
				if n, c := f.store.Calls(storetest.Find), f.cacheLookups()-lookups; n+int64(c) != 0 {
					t.Errorf("only junk: %d store and %d cache lookups, want none", n, c)
				}
				if got := f.m.Stats().RejectedCookies; got < 2 {
					t.Errorf("Stats().RejectedCookies = %d, want the 2 just sent counted", got)
				}
			})
		}
	}
}

// getCookies serves a GET of path with the given Cookie header lines.
func (f *fixture) getCookies(t testing.TB, path string, lines []string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header[http.CanonicalHeaderKey("Cookie")] = lines
	rec := recorder{httptest.NewRecorder()}
	f.handler.ServeHTTP(rec, req)
	return rec.Result()
}
