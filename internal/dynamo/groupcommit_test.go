package dynamo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupCommitCountsEveryIncrementOnce: concurrent increments of a key
// are written in fewer writes than increments, their sum is exactly the
// number of increments, and other keys are not held back.
func TestGroupCommitCountsEveryIncrementOnce(t *testing.T) {
	g := newGroupCommit()
	var mu sync.Mutex
	sums := map[string]int64{}
	var writes atomic.Int64
	write := func(key string) func(context.Context, int64) error {
		return func(_ context.Context, n int64) error {
			writes.Add(1)
			time.Sleep(2 * time.Millisecond) // a write in flight, for others to gather behind
			mu.Lock()
			sums[key] += n
			mu.Unlock()
			return nil
		}
	}
	const callers = 200
	var wg sync.WaitGroup
	for i := range callers {
		key := "a"
		if i%4 == 0 {
			key = "b"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.add(context.Background(), key, write(key)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if sums["a"] != 150 || sums["b"] != 50 {
		t.Errorf("sums = %v, want a=150 b=50", sums)
	}
	if w := writes.Load(); w >= callers {
		t.Errorf("%d writes for %d concurrent increments: nothing was grouped", w, callers)
	}
	if len(g.groups) != 0 {
		t.Errorf("%d groups left behind after every write finished", len(g.groups))
	}
}

// TestGroupCommitReportsTheBatchError: every caller whose increment was in
// a failed write gets the failure, and the key recovers for later callers.
func TestGroupCommitReportsTheBatchError(t *testing.T) {
	g := newGroupCommit()
	boom := errors.New("throttled")
	release := make(chan struct{})
	first := make(chan error)
	go func() {
		first <- g.add(context.Background(), "k", func(context.Context, int64) error { <-release; return nil })
	}()
	// Wait until the first write is in flight, then queue three behind it.
	for {
		g.mu.Lock()
		busy := g.groups["k"] != nil && g.groups["k"].busy
		g.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var got []int64
	var mu sync.Mutex
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			errs <- g.add(context.Background(), "k", func(_ context.Context, n int64) error {
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
				return boom
			})
		}()
	}
	for {
		g.mu.Lock()
		n := int64(0)
		if b := g.groups["k"].next; b != nil {
			n = b.n
		}
		g.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, boom) {
			t.Errorf("a grouped caller got %v, want the batch's error", err)
		}
	}
	if len(got) != 1 || got[0] != 3 {
		t.Errorf("batch writes = %v, want one write of 3", got)
	}
	if err := g.add(context.Background(), "k", func(context.Context, int64) error { return nil }); err != nil {
		t.Errorf("after a failed batch: %v", err)
	}
}
