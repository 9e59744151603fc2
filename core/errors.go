package core

import (
	"errors"
	"net/http"
)

// Sentinel errors. Stores and the manager wrap them with context, so test for
// them with errors.Is.
var (
	// ErrUnavailable means the store could not be reached or failed to answer:
	// a database that is down, a timeout, a broken connection. Nothing was
	// saved. Stores wrap their driver errors with it.
	ErrUnavailable = errors.New("session store unavailable")

	// ErrCorrupt means a stored record could not be decoded. The manager
	// treats the session as empty and logs it; it never reaches a handler
	// through a read.
	ErrCorrupt = errors.New("session data corrupt")

	// ErrTooLarge means the encoded session data exceeds Config.MaxDataSize.
	// Nothing was saved.
	ErrTooLarge = errors.New("session data too large")

	// ErrConflict is returned by Store.Update when the record is missing or
	// its version is not the one expected, and by Store.Replace when the old
	// record is gone: another request changed or removed it since it was
	// read.
	ErrConflict = errors.New("session record changed concurrently")

	// ErrDestroyed means the session was destroyed or renewed by another
	// request while this one was running; its changes were not saved, so
	// that a logged-out session is never brought back.
	ErrDestroyed = errors.New("session destroyed by a concurrent request")

	// ErrEncode means a session value could not be encoded by the codec.
	ErrEncode = errors.New("session value cannot be encoded")
)

// StatusCode maps an error from the session layer to the HTTP status an
// error handler should answer with: 503 for an unavailable store, 409 for a
// session ended by a concurrent request, 500 for everything else.
func StatusCode(err error) int {
	switch {
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrDestroyed):
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}
