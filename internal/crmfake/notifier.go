package crmfake

import (
	"context"
	"errors"
	"sync"

	"github.com/clientele-crm/clientele/internal/crm"
)

var _ crm.Notifier = (*Notifier)(nil)

// ErrDelivery is what Notifier returns for a notification Fail refuses.
var ErrDelivery = errors.New("delivery failed")

// Notifier records the notifications delivered to it.
type Notifier struct {
	// Fail, if set, makes Notify fail for the notifications it returns
	// true for; failed notifications are not recorded as sent.
	Fail func(crm.Notification) bool

	mu       sync.Mutex
	sent     []crm.Notification
	attempts int
	failN    int
	failErr  error
}

// Notify implements crm.Notifier.
func (r *Notifier) Notify(_ context.Context, n crm.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.failN > 0 {
		r.failN--
		return r.failErr
	}
	if r.Fail != nil && r.Fail(n) {
		return ErrDelivery
	}
	r.sent = append(r.sent, n)
	return nil
}

// Sent returns the notifications delivered so far, in order.
func (r *Notifier) Sent() []crm.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]crm.Notification(nil), r.sent...)
}

// Attempts counts every call of Notify, failed ones included.
func (r *Notifier) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// Reset forgets what was sent.
func (r *Notifier) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent, r.attempts = nil, 0
}

// FailNext makes the next n calls of Notify return err (ErrDelivery when
// err is nil), before Fail is consulted.
func (r *Notifier) FailNext(n int, err error) {
	if err == nil {
		err = ErrDelivery
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failN, r.failErr = n, err
}
