package core

import (
	"context"
	"sync"
)

// commitQueue lines up the store writes of each session on this instance:
// the requests of one session take turns, in the order they asked, so that
// each writes on top of the version the previous one left in the cache and
// contention costs waiting in memory, not conflicts in the database. A turn
// is held only around the write, never while a handler runs.
type commitQueue struct {
	mu    sync.Mutex
	lines map[string]*line // by record id; present while anyone holds or waits
}

// line is the queue of one record: a turn token and the number of requests
// holding or waiting for it.
type line struct {
	turn  chan struct{} // full while a request holds the turn
	users int
}

// acquire waits for the turn of record id, in arrival order, until ctx
// ends. The returned function gives the turn to the next in line.
func (q *commitQueue) acquire(ctx context.Context, id string) (release func(), err error) {
	q.mu.Lock()
	l := q.lines[id]
	if l == nil {
		if q.lines == nil {
			q.lines = map[string]*line{}
		}
		l = &line{turn: make(chan struct{}, 1)}
		q.lines[id] = l
	}
	l.users++
	q.mu.Unlock()
	// Blocked senders of a channel are woken first in, first out: the
	// oldest request of a session is served first.
	select {
	case l.turn <- struct{}{}:
		return func() {
			<-l.turn
			q.leave(id, l)
		}, nil
	case <-ctx.Done():
		q.leave(id, l)
		return nil, ctx.Err()
	}
}

// leave drops a user of l, and l itself when it was the last.
func (q *commitQueue) leave(id string, l *line) {
	q.mu.Lock()
	if l.users--; l.users == 0 {
		delete(q.lines, id)
	}
	q.mu.Unlock()
}
