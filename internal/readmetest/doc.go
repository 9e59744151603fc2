// Package readmetest holds the test that builds the Go programs of the
// README's quick starts exactly as they are written there. It has no code
// of its own besides this comment.
package readmetest
