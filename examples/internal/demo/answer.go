package demo

import (
	"fmt"
	"net/http"
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

// ErrNotLoggedIn answers GET /me and POST /logout-all of a session without
// a user.
var ErrNotLoggedIn error = &ClientError{http.StatusUnauthorized, "not logged in"}

// StoreUnreachable is the error message of GET /healthz when the session
// store does not answer; the cause is logged, not shown.
const StoreUnreachable = "session store unreachable"

// Flash messages: what the page says after a browser's form post, which is
// answered with a redirect to the page instead of JSON.
const (
	// LogoutFlash follows POST /logout.
	LogoutFlash = "Logged out."
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

// PrefFlash follows setting the preference key.
func PrefFlash(key string) string { return fmt.Sprintf("Saved preference %s.", key) }

// ErrorFlash is the flash message of a form post that failed with msg; the
// page shows it as an error.
func ErrorFlash(msg string) string { return errorFlash + msg }
