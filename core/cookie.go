package core

import (
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// tokenFromRequest returns the token in the request's session cookie, if it
// has exactly the token shape, and whether a session cookie was sent at all.
// It scans the Cookie headers itself: http.Request.Cookie parses every
// cookie of the request on each call, which costs allocations on the
// hot path for a value that is only ever a token.
func (m *Manager) tokenFromRequest(r *http.Request) (token string, sent bool) {
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(textproto.TrimString(part), "=")
			if !ok || name != m.cfg.CookieName {
				continue
			}
			if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if !validToken(value) {
				return "", true
			}
			return value, true
		}
	}
	return "", false
}

// writeCookie sets the session cookie carrying token. A persistent cookie
// lives until deadline; otherwise it ends with the browser session.
func (m *Manager) writeCookie(h http.Header, token string, persistent bool, deadline, now time.Time) {
	c := m.cookie(token)
	if persistent {
		c.MaxAge = max(int(deadline.Sub(now).Round(time.Second).Seconds()), 1)
		c.Expires = deadline.UTC()
	}
	m.addCookie(h, c)
}

// expireCookie tells the browser to drop the session cookie.
func (m *Manager) expireCookie(h http.Header) {
	c := m.cookie("")
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0).UTC()
	m.addCookie(h, c)
}

func (m *Manager) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name:        m.cfg.CookieName,
		Value:       value,
		Path:        m.cfg.CookiePath,
		Domain:      m.cfg.CookieDomain,
		Secure:      m.cfg.CookieSecure,
		HttpOnly:    true,
		SameSite:    m.cfg.CookieSameSite,
		Partitioned: m.cfg.CookiePartitioned,
	}
}

// addCookie adds the Set-Cookie header and keeps shared caches from storing
// the response, as Django and scs do.
func (m *Manager) addCookie(h http.Header, c *http.Cookie) {
	h.Add("Set-Cookie", c.String())
	switch cc := h.Get("Cache-Control"); {
	case cc == "":
		h.Set("Cache-Control", noCacheSetCookie)
	case !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") && !strings.Contains(cc, "Set-Cookie"):
		h.Set("Cache-Control", cc+", "+noCacheSetCookie) // e.g. "public, max-age=60"
	}
}

// noCacheSetCookie lets shared caches store a response but never its
// Set-Cookie header.
const noCacheSetCookie = `no-cache="Set-Cookie"`
