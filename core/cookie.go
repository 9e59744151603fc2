package core

import (
	"net/http"
	"time"
)

// tokenFromRequest returns the token in the request's session cookie, if it
// has exactly the token shape, and whether a session cookie was sent at all.
func (m *Manager) tokenFromRequest(r *http.Request) (token string, sent bool) {
	c, err := r.Cookie(m.cfg.CookieName)
	if err != nil {
		return "", false
	}
	if !validToken(c.Value) {
		return "", true
	}
	return c.Value, true
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
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", `no-cache="Set-Cookie"`)
	}
}
