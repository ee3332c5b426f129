package notify

import (
	"context"
	"slices"
	"sync"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Recorder is a crm.Notifier for tests: it records what it is sent and can be
// told to fail. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	sent    []crm.Notification
	calls   int
	failN   int
	failErr error
}

var _ crm.Notifier = (*Recorder)(nil)

// NewRecorder returns a Recorder that accepts every notification.
func NewRecorder() *Recorder { return &Recorder{} }

// Notify records n, or returns the error FailNext set while it has failures
// left, in which case n is not recorded.
func (r *Recorder) Notify(ctx context.Context, n crm.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failN > 0 {
		r.failN--
		return r.failErr
	}
	r.sent = append(r.sent, n)
	return nil
}

// Sent returns the notifications recorded so far, oldest first.
func (r *Recorder) Sent() []crm.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// Calls returns how many times Notify was called, failed calls included.
func (r *Recorder) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// FailNext makes the next n calls to Notify return err, or ErrUnavailable if
// err is nil.
func (r *Recorder) FailNext(n int, err error) {
	if err == nil {
		err = ErrUnavailable
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failN, r.failErr = n, err
}
