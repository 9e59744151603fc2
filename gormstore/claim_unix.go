//go:build unix

package gormstore

import (
	"os"
	"syscall"
)

// lockExclusive takes an exclusive lock on f without waiting; the lock
// goes when the process does.
func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
