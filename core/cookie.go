package core

import (
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"
)

// Bounds of the cookie scan: the Cookie headers are read up to
// maxCookieBytes and maxCookies cookies of any name, and at most
// maxCandidates cookies of the session's name are checked; the rest is
// ignored. Browsers keep far fewer for one site (about 180 cookies).
const (
	maxCookieBytes = 64 << 10
	maxCookies     = 256
	maxCandidates  = 8
)

// pickToken returns the first cookie named name that is a token tagged by
// a key of the ring (or, while untagged tokens are still looked up, the
// first untagged one when none is tagged), and how many cookies of that
// name it turned away: malformed, forged, or tagged by a retired key. It
// asks ring for the key ring at the first cookie of that name, so that a
// request without one needs none, and fails with ring's error. It scans the
// Cookie headers itself: http.Request.Cookie parses every cookie of the
// request on each call, which costs allocations on the hot path for a
// value that is only ever a token.
//
// Taking the first authentic cookie, not the first of the name, keeps a
// junk cookie set for a longer path or from a sibling domain from logging
// the user out (cookie tossing): junk is never used, and never expired.
//
// Before a cookie's tag is computed, known (when not nil) may vouch for
// it: a token already proven under this ring (Session.known). pickToken
// returns the ring the token proved authentic under, and nil for an
// untagged token.
func pickToken(lines []string, name string, ring func() (*keyring, error), known func(token string, r *keyring) bool, now time.Time) (token string, proven *keyring, rejected int, err error) {
	var untagged string
	var keys *keyring
	budget, cookies, candidates := maxCookieBytes, 0, 0
scan:
	for _, line := range lines {
		line = line[:min(len(line), budget)]
		budget -= len(line)
		for part := range strings.SplitSeq(line, ";") {
			if cookies++; cookies > maxCookies {
				break scan
			}
			n, value, ok := strings.Cut(textproto.TrimString(part), "=")
			if !ok || n != name {
				continue
			}
			if candidates++; candidates > maxCandidates {
				break scan
			}
			if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			if keys == nil {
				if keys, err = ring(); err != nil {
					return "", nil, rejected, err
				}
			}
			if known != nil && known(value, keys) {
				return value, keys, rejected, nil
			}
			switch keys.check(value, now) {
			case tokenAuthentic:
				return value, keys, rejected, nil
			case tokenUntagged:
				if untagged == "" {
					untagged = value
				}
			default:
				rejected++
			}
		}
		if budget == 0 {
			break
		}
	}
	return untagged, nil, rejected, nil
}

// rejections counts the session cookies turned away at the door and logs
// them, at most once per rejectLogEvery: an attacker's flood of forged
// cookies must not become a flood of log lines.
type rejections struct {
	total  atomic.Uint64
	logged atomic.Int64 // unix nanoseconds of the last line
}

// rejectLogEvery is the least time between two log lines of rejections.
const rejectLogEvery = 10 * time.Second

// add counts n rejected cookies at now and logs them when a line is due.
// The line never holds a cookie's value.
func (r *rejections) add(n int, now time.Time, log *slog.Logger) {
	total := r.total.Add(uint64(n))
	last := r.logged.Load()
	if now.UnixNano()-last < int64(rejectLogEvery) || !r.logged.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	log.Warn("session cookie rejected: malformed, forged or from a retired token key; the request gets a fresh session",
		"rejected_total", total)
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
