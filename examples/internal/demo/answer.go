package demo

import (
	"fmt"
	"net/http"

	"github.com/hybridsession/hybridsession/core"
)

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
	// OKBody answers POST /logout and POST /sensitive.
	OKBody struct {
		OK bool `json:"ok"`
	}
	// RevokedBody answers POST /logout-all, POST /logout-others and the
	// revoke of one session: how many sessions ended.
	RevokedBody struct {
		Revoked int `json:"revoked"`
	}
	// SessionsBody answers GET /sessions. Each entry is a
	// core.SessionInfo, whose JSON is the contract's: id, current,
	// created_at, authenticated_at (omitted when never), last_seen_at, ip,
	// user_agent.
	SessionsBody struct {
		Sessions []core.SessionInfo `json:"sessions"`
	}
	// PrefsBody answers the /prefs routes; Prefs is never nil.
	PrefsBody struct {
		Prefs map[string]string `json:"prefs"`
	}
)

// HTMLContentType is the Content-Type of the page.
const HTMLContentType = "text/html; charset=utf-8"

// ClientError is the answer to a request the client has to change: its
// status, 4xx, and a message for the client. Every error of ReadLogin,
// ReadPref and ReadPrefForm is one. The apps answer it with its status and
// ErrorBody{Message}, or, to a browser's form post (IsBrowserForm), with a
// redirect to the page, which shows ErrorFlash(Message).
type ClientError struct {
	Status  int
	Message string
}

func (e *ClientError) Error() string { return e.Message }

// ErrNotLoggedIn answers the routes that need a user (GET /me, GET
// /sessions, POST /logout-all, ...) for a session without one.
var ErrNotLoggedIn error = &ClientError{http.StatusUnauthorized, "not logged in"}

// ErrNoSuchSession answers the revoke of a session id that is not a live
// session of the caller's user.
var ErrNoSuchSession error = &ClientError{http.StatusNotFound, "no such session"}

// StoreUnreachable is the error message of GET /healthz when the session
// store does not answer; the cause is logged, not shown.
const StoreUnreachable = "session store unreachable"

// Flash messages: what the page says after a browser's form post, which is
// answered with a redirect to the page instead of JSON.
const (
	// LogoutFlash follows POST /logout.
	LogoutFlash = "Logged out."
	// RevokeFlash follows POST /sessions/{id}/revoke.
	RevokeFlash = "Session ended."
	// errorFlash starts a flash message that reports a failure.
	errorFlash = "error: "
)

// LoginFlash follows POST /login.
func LoginFlash(user string) string { return "Logged in as " + user + "." }

// CountFlash follows POST /counter.
func CountFlash(n int) string { return fmt.Sprintf("Count is now %d.", n) }

// LogoutAllFlash follows POST /logout-all, which ended n sessions.
func LogoutAllFlash(n int) string {
	if n == 1 {
		return "Logged out of 1 session."
	}
	return fmt.Sprintf("Logged out of %d sessions.", n)
}

// LogoutOthersFlash follows POST /logout-others, which ended n sessions.
func LogoutOthersFlash(n int) string {
	if n == 1 {
		return "Logged out of 1 other session."
	}
	return fmt.Sprintf("Logged out of %d other sessions.", n)
}

// PrefFlash follows setting the preference key.
func PrefFlash(key string) string { return fmt.Sprintf("Saved preference %s.", key) }

// ErrorFlash is the flash message of a form post that failed with msg; the
// page shows it as an error.
func ErrorFlash(msg string) string { return errorFlash + msg }
