//go:build !unix

package gormstore

import "os"

// lockExclusive does nothing where flock is not available: there, keeping
// an SQLite file to one process is up to the deployment.
func lockExclusive(*os.File) error { return nil }
