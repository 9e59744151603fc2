// Package e2e holds the end-to-end and fault tests of the example apps
// (issue 3: many app servers, one truth). It has no code of its own besides
// this comment; everything is in its tests:
//
//   - multi-process: the Gin and Echo example binaries, built once per test
//     run, run as two processes on two loopback ports sharing one private
//     PostgreSQL database; a logout or a change on one is seen by the other
//     at once, and parallel writes of one session spread over both lose
//     nothing;
//   - faults: an example app in process on a private PostgreSQL cluster
//     (internal/testdb.NewCluster) that the test stops and starts: writes
//     fail with a 5xx and a JSON error, health says 503, reads of a
//     logged-in session say 503, no goroutine leaks, and once the database
//     is back the app recovers by itself with every acknowledged write
//     intact.
//
// The multi-process tests need the server named by
// $HYBRIDSESSION_TEST_POSTGRES, the fault tests the server programs initdb
// and pg_ctl (for a private cluster); each skips with a message without
// them, unless $HYBRIDSESSION_REQUIRE_POSTGRES=1:
//
//	HYBRIDSESSION_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//		go test -race -count=1 -v ./examples/internal/e2e/
package e2e
