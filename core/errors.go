package core

import (
	"errors"
	"net/http"

	"github.com/hybridsession/hybridsession/core/storage"
)

// Sentinel errors. Stores and the manager wrap them with context, so test for
// them with errors.Is.
var (
	// ErrUnavailable means the store could not be reached or failed to answer:
	// a database that is down, a timeout, a broken connection. Nothing was
	// saved. It is storage.ErrUnavailable, which stores wrap.
	ErrUnavailable = storage.ErrUnavailable

	// ErrCorrupt means a stored record could not be decoded. The manager
	// treats the session as empty and logs it; it never reaches a handler
	// through a read.
	ErrCorrupt = errors.New("session data corrupt")

	// ErrTooLarge means the encoded session data exceeds Config.MaxDataSize.
	// Nothing was saved.
	ErrTooLarge = errors.New("session data too large")

	// ErrEncode means a session value could not be encoded by the codec.
	ErrEncode = errors.New("session value cannot be encoded")

	// ErrCommitted means a change came after the session was committed,
	// when the response had started (its headers written, with the
	// cookie): Save and Modify then store nothing. Change the session
	// before writing the body, or call Save before it.
	ErrCommitted = errors.New("session already committed: the response has started")

	// ErrTooManySessions means a login was refused because its user has
	// Config.MaxSessionsPerUser live sessions and the policy is CapRefuse.
	// Nothing was saved.
	ErrTooManySessions = errors.New("too many sessions for this user")

	// ErrNotLoggedIn means an action needs a logged-in session (CheckFresh).
	ErrNotLoggedIn = errors.New("not logged in")

	// ErrNotFresh means an action needs a more recent login (CheckFresh).
	ErrNotFresh = errors.New("reauthentication required")
)

// StatusCode maps an error from the session layer to the HTTP status an
// error handler should answer with: 503 for an unavailable store or a
// session contended past the store timeout (nothing was stored; see
// SetRetryAfter), 413 for session data over Config.MaxDataSize, 401 and
// 403 for CheckFresh's ErrNotLoggedIn and ErrNotFresh, 403 for a login
// refused by ErrTooManySessions, 500 for everything else, which is a bug.
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotLoggedIn):
		return http.StatusUnauthorized
	case errors.Is(err, ErrNotFresh), errors.Is(err, ErrTooManySessions):
		return http.StatusForbidden
	default:
		return http.StatusInternalServerError
	}
}

// retryAfterSeconds is the Retry-After that SetRetryAfter gives a 503: the
// store timed out or was contended, and a retry a second later usually
// succeeds.
const retryAfterSeconds = "1"

// SetRetryAfter sets the Retry-After header of a response with the given
// status when it is a 503 (to "1": a retry a second later usually
// succeeds), as every error handler of this module does.
func SetRetryAfter(h http.Header, status int) {
	if status == http.StatusServiceUnavailable {
		h.Set("Retry-After", retryAfterSeconds)
	}
}
