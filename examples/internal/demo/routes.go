package demo

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hybridsession/hybridsession/core"
)

// Session value names.
const (
	// CountKey holds the counter, an int.
	CountKey = "count"
	// PrefPrefix starts the name of each preference's value: "pref:theme".
	// Each preference is its own session value, so that concurrent changes
	// of different preferences merge.
	PrefPrefix = "pref:"
)

// Outcome is a route's answer, decided here once for both apps; each app
// renders it its framework's way.
type Outcome struct {
	// Status is the HTTP status: 200; 303 with Redirect; 4xx or 5xx with
	// Error.
	Status int
	// Body is the JSON body of a success.
	Body any
	// HTML is the body of a success that is a page (Content-Type
	// HTMLContentType) instead of JSON.
	HTML []byte
	// Error is the message of a failure, sent as ErrorBody.
	Error string
	// Redirect is where a browser's form post goes next (303 See Other),
	// with a flash message waiting in the session.
	Redirect string
}

// HTMLContentType is the Content-Type of the page.
const HTMLContentType = "text/html; charset=utf-8"

// Failed reports whether o is an error answer.
func (o Outcome) Failed() bool { return o.Error != "" }

// Bodies of the JSON answers.
type (
	// ErrorBody is every error answer: {"error": "..."}.
	ErrorBody struct {
		Error string `json:"error"`
	}
	// StatusBody answers GET /healthz.
	StatusBody struct {
		Status string `json:"status"`
	}
	// UserBody answers POST /login.
	UserBody struct {
		User string `json:"user"`
	}
	// MeBody answers GET /me.
	MeBody struct {
		User  string `json:"user"`
		Count int    `json:"count"`
	}
	// CountBody answers GET and POST /counter.
	CountBody struct {
		Count int `json:"count"`
	}
	// OKBody answers POST /logout.
	OKBody struct {
		OK bool `json:"ok"`
	}
	// RevokedBody answers POST /logout-all.
	RevokedBody struct {
		Revoked int `json:"revoked"`
	}
	// PrefsBody answers the /prefs routes; Prefs is never nil.
	PrefsBody struct {
		Prefs map[string]string `json:"prefs"`
	}
)

// errorFlash marks a flash message that reports a failure.
const errorFlash = "error: "

// reply answers a success: JSON, or for a browser's form post a redirect
// to the page with flash waiting in the session.
func reply(r *http.Request, s *core.Session, body any, flash string) Outcome {
	if IsBrowserForm(r) {
		s.AddFlash(flash)
		return Outcome{Status: http.StatusSeeOther, Redirect: "/"}
	}
	return Outcome{Status: http.StatusOK, Body: body}
}

// fail answers a failure. A client error in a browser's form post becomes
// a flash message on the page; a server error is logged and answered with
// its status text alone, as the session adapters answer a failed commit.
func fail(r *http.Request, s *core.Session, err error) Outcome {
	if p, ok := err.(*problem); ok {
		if IsBrowserForm(r) {
			s.AddFlash(errorFlash + p.msg)
			return Outcome{Status: http.StatusSeeOther, Redirect: "/"}
		}
		return Outcome{Status: p.status, Error: p.msg}
	}
	code := core.StatusCode(err)
	slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", code, "error", err)
	return Outcome{Status: code, Error: http.StatusText(code)}
}

// Login is POST /login. The body is JSON {"username": "...", "remember":
// bool} or a form with the same fields. It renews the session's token,
// binds it to the user and makes the cookie persistent unless remember is
// false; a missing remember means true.
func Login(r *http.Request, s *core.Session) Outcome {
	var in struct {
		Username *string `json:"username"`
		Remember *bool   `json:"remember"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("username", "remember"); err != nil {
			return err
		}
		if u, ok, err := f.only("username"); err != nil {
			return err
		} else if ok {
			in.Username = &u
		}
		// The page sends a hidden remember=false before the checkbox, so
		// the last value is the checkbox's when it is ticked.
		if v, ok := f.last("remember"); ok {
			b, err := parseFormBool("remember", v)
			if err != nil {
				return err
			}
			in.Remember = &b
		}
		return nil
	})
	if err != nil {
		return fail(r, s, err)
	}
	if in.Username == nil {
		return fail(r, s, badRequest("username is required"))
	}
	name, err := CheckUsername(*in.Username)
	if err != nil {
		return fail(r, s, err)
	}
	s.Login(name)
	s.SetPersistent(in.Remember == nil || *in.Remember)
	return reply(r, s, UserBody{User: name}, "Logged in as "+name+".")
}

// Me is GET /me: the user and the counter; 401 when not logged in.
func Me(r *http.Request, s *core.Session) Outcome {
	user := s.UserID()
	if user == "" {
		return fail(r, s, &problem{http.StatusUnauthorized, "not logged in"})
	}
	return Outcome{Status: http.StatusOK, Body: MeBody{User: user, Count: core.GetOr(s, CountKey, 0)}}
}

// Counter is GET /counter: the counter, changing nothing.
func Counter(_ *http.Request, s *core.Session) Outcome {
	return Outcome{Status: http.StatusOK, Body: CountBody{Count: core.GetOr(s, CountKey, 0)}}
}

// Increment is POST /counter: adds one to the counter, atomically, so that
// parallel increments of one session, on any instance, all count.
func Increment(r *http.Request, s *core.Session) Outcome {
	n, err := core.Modify(r.Context(), s, CountKey, func(n int, _ bool) int { return n + 1 })
	if err != nil {
		return fail(r, s, err)
	}
	return reply(r, s, CountBody{Count: n}, fmt.Sprintf("Count is now %d.", n))
}

// Logout is POST /logout: destroys the session; its cookie is expired.
func Logout(r *http.Request, s *core.Session) Outcome {
	if err := s.Destroy(r.Context()); err != nil {
		return fail(r, s, err)
	}
	return reply(r, s, OKBody{OK: true}, "Logged out.")
}

// LogoutAll is POST /logout-all: destroys every session of the logged-in
// user, this one included, and tells how many there were; 401 when not
// logged in.
func LogoutAll(r *http.Request, s *core.Session) Outcome {
	if s.UserID() == "" {
		return fail(r, s, &problem{http.StatusUnauthorized, "not logged in"})
	}
	n, err := s.DestroyUser(r.Context())
	if err != nil {
		return fail(r, s, err)
	}
	return reply(r, s, RevokedBody{Revoked: n}, fmt.Sprintf("Logged out of %d %s.", n, plural(n, "session", "sessions")))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Prefs is GET /prefs: every preference of the session.
func Prefs(_ *http.Request, s *core.Session) Outcome {
	return Outcome{Status: http.StatusOK, Body: PrefsBody{Prefs: prefs(s)}}
}

// SetPref is PUT /prefs/{key}: the body is JSON {"value": "..."} (or a
// form with a value field). It sets one preference and answers with all of
// them.
func SetPref(r *http.Request, s *core.Session, key string) Outcome {
	var in struct {
		Value *string `json:"value"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("value"); err != nil {
			return err
		}
		if v, ok, err := f.only("value"); err != nil {
			return err
		} else if ok {
			in.Value = &v
		}
		return nil
	})
	if err != nil {
		return fail(r, s, err)
	}
	return setPref(r, s, key, in.Value)
}

// SetPrefForm is POST /prefs, the page's way to set a preference, since an
// HTML form cannot put the key into the path: a form (or JSON object) with
// key and value fields. It answers as SetPref.
func SetPrefForm(r *http.Request, s *core.Session) Outcome {
	var in struct {
		Key   *string `json:"key"`
		Value *string `json:"value"`
	}
	err := decodeBody(r, &in, func(f form) error {
		if err := f.checkFields("key", "value"); err != nil {
			return err
		}
		for name, dst := range map[string]**string{"key": &in.Key, "value": &in.Value} {
			if v, ok, err := f.only(name); err != nil {
				return err
			} else if ok {
				*dst = &v
			}
		}
		return nil
	})
	if err != nil {
		return fail(r, s, err)
	}
	if in.Key == nil {
		return fail(r, s, badRequest("key is required"))
	}
	return setPref(r, s, *in.Key, in.Value)
}

func setPref(r *http.Request, s *core.Session, key string, value *string) Outcome {
	if value == nil {
		return fail(r, s, badRequest("value is required"))
	}
	if err := CheckPref(key, *value); err != nil {
		return fail(r, s, err)
	}
	s.Set(PrefPrefix+key, *value)
	return reply(r, s, PrefsBody{Prefs: prefs(s)}, fmt.Sprintf("Saved preference %s.", key))
}

// prefs returns the session's preferences by key; never nil.
func prefs(s *core.Session) map[string]string {
	out := map[string]string{}
	for _, k := range s.Keys() {
		if name, ok := strings.CutPrefix(k, PrefPrefix); ok {
			if v, ok := core.Get[string](s, k); ok {
				out[name] = v
			}
		}
	}
	return out
}

// Health is GET /healthz: 200 when the session store answers, else 503.
// The cause is logged, not shown.
func Health(ctx context.Context, m *core.Manager) Outcome {
	if err := m.Ping(ctx); err != nil {
		slog.ErrorContext(ctx, "health check failed", "error", err)
		return Outcome{Status: http.StatusServiceUnavailable, Error: "session store unreachable"}
	}
	return Outcome{Status: http.StatusOK, Body: StatusBody{Status: "ok"}}
}

// NotFound answers a request for a path no route serves.
func NotFound() Outcome {
	return Outcome{Status: http.StatusNotFound, Error: http.StatusText(http.StatusNotFound)}
}

// MethodNotAllowed answers a request whose path is served, but not for its
// method.
func MethodNotAllowed() Outcome {
	return Outcome{Status: http.StatusMethodNotAllowed, Error: http.StatusText(http.StatusMethodNotAllowed)}
}
