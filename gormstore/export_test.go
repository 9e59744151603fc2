package gormstore

import "time"

// SetListenCheck shortens the listener's connection check for a test and
// returns a function that restores it.
func SetListenCheck(every, timeout time.Duration) (restore func()) {
	oldEvery, oldTimeout := listenCheckEvery, listenCheckTimeout
	listenCheckEvery, listenCheckTimeout = every, timeout
	return func() { listenCheckEvery, listenCheckTimeout = oldEvery, oldTimeout }
}
