package dynamo

import (
	"context"
	"sync"
)

// groupCommit joins concurrent increments of one counter into one write:
// while a write of a key is in flight, the increments that arrive for that
// key wait together and go out as the next single write, whose success or
// failure each of them then returns. Nothing waits for a timer, so a lone
// increment is written at once, as it would be without grouping; only
// concurrency collapses writes. Every caller returns after its own
// increment was written (or failed), so grouping loses nothing and
// duplicates nothing.
type groupCommit struct {
	mu     sync.Mutex
	groups map[string]*commitGroup
}

// commitGroup is one key's state: whether a write is in flight, and the
// batch gathering behind it.
type commitGroup struct {
	busy bool
	next *commitBatch
}

// commitBatch is increments written together.
type commitBatch struct {
	n    int64
	turn chan struct{} // receives once, for the one caller who writes the batch
	done chan struct{} // closed when the batch is written
	err  error
}

func newGroupCommit() *groupCommit { return &groupCommit{groups: map[string]*commitGroup{}} }

// add adds one to key through write, which is given the batch's total.
// The caller whose batch comes up writes it with its own ctx.
func (g *groupCommit) add(ctx context.Context, key string, write func(ctx context.Context, n int64) error) error {
	g.mu.Lock()
	grp := g.groups[key]
	if grp == nil {
		grp = &commitGroup{}
		g.groups[key] = grp
	}
	b := grp.next
	if b == nil {
		b = &commitBatch{turn: make(chan struct{}, 1), done: make(chan struct{})}
		grp.next = b
	}
	b.n++
	if !grp.busy {
		grp.busy, grp.next = true, nil
		b.turn <- struct{}{}
	}
	g.mu.Unlock()

	// Waiting is bounded by the write in flight, whose caller's deadline
	// bounds it in turn; a waiter does not leave early, because the turn to
	// write its batch may come to it.
	select {
	case <-b.done:
		return b.err
	case <-b.turn:
	}
	b.err = write(ctx, b.n)
	close(b.done)
	g.mu.Lock()
	if nx := grp.next; nx != nil {
		grp.next = nil
		nx.turn <- struct{}{}
	} else {
		grp.busy = false
		delete(g.groups, key)
	}
	g.mu.Unlock()
	return b.err
}
