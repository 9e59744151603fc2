// Package benchmarks is the home of hybridsession's comparison with its
// peers. It is a Go module of its own, so that the library's go.mod never
// pulls gin-contrib/sessions, scs, echo-contrib or gonum/plot; a replace
// directive points it at the library's current code in the parent
// directory.
//
//	make bench-peers                      # from the repository root
//	cd benchmarks && go run ./cmd/peerbench -h
//
// Package peers holds the apps, the two measurements and the report;
// cmd/peerbench runs them and writes docs/benchmarks.md and its chart.
package benchmarks
