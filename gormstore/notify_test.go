package gormstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/hybridsession/hybridsession/core"
)

// A log out everywhere of a user with 300 sessions, cached on another
// instance, removes them all there: the statement's announcement (over
// 8 000 bytes of ids) is split into several notifications, and each is
// read in full.
func TestLargeStatementAnnounced(t *testing.T) {
	in, _ := startInstances(t, 2)
	a, b := in[0], in[1]
	const n = 300
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = a.request("", func(s *core.Session) { s.Login("many"); s.Set("n", i) }).Value
		if got := b.count(tokens[i]); got != i {
			t.Fatalf("session %d on the other instance = %d, want %d", i, got, i)
		}
	}
	before := b.m.Stats().Invalidations
	if got, err := a.m.LogoutEverywhere(context.Background(), "many"); got != n || err != nil {
		t.Fatalf("LogoutEverywhere = %d, %v; want %d, nil", got, err, n)
	}
	deadline := time.Now().Add(time.Second)
	for b.m.Stats().Invalidations < before+n {
		if time.Now().After(deadline) {
			t.Fatalf("after 1s the other instance received %d of %d removals", b.m.Stats().Invalidations-before, n)
		}
		time.Sleep(time.Millisecond)
	}
	for i, tok := range tokens {
		if got := b.count(tok); got != -1 {
			t.Fatalf("session %d still reads %d on the other instance after the log out everywhere", i, got)
		}
	}
	t.Logf("%d removals of one statement received by the other instance", n)
}
