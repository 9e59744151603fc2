//go:build race

package e2e

// raceEnabled tells that the tests run with the race detector, so that the
// example binaries are built with it too.
const raceEnabled = true
