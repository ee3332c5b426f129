package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Retry defaults.
const (
	DefaultAttempts  = 3
	DefaultBaseDelay = 100 * time.Millisecond
	DefaultMaxDelay  = 2 * time.Second
)

// RetryOptions configures Retrying. Zero fields take the defaults.
type RetryOptions struct {
	// Attempts is the number of sends, the first included (DefaultAttempts).
	Attempts int
	// BaseDelay is the backoff before the second attempt; it doubles for
	// each attempt after that (DefaultBaseDelay).
	BaseDelay time.Duration
	// MaxDelay caps the backoff (DefaultMaxDelay).
	MaxDelay time.Duration
	// Retryable reports whether a failed send is worth another attempt. Nil
	// retries every error.
	Retryable func(error) bool
	// Sleep waits d or until ctx is done, returning ctx's error if it is.
	// Tests replace it so they do not wait; nil sleeps on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter. Nil uses math/rand/v2.
	Rand func() float64
}

// Retrying is a crm.Notifier that retries a failed send of the Notifier it
// wraps with exponential backoff and jitter. It is safe for concurrent use if
// the wrapped Notifier is.
type Retrying struct {
	next crm.Notifier
	opt  RetryOptions
}

var _ crm.Notifier = (*Retrying)(nil)

// NewRetrying returns a Notifier that sends through next, retrying as opt says.
func NewRetrying(next crm.Notifier, opt RetryOptions) *Retrying {
	if opt.Attempts <= 0 {
		opt.Attempts = DefaultAttempts
	}
	if opt.BaseDelay <= 0 {
		opt.BaseDelay = DefaultBaseDelay
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = DefaultMaxDelay
	}
	if opt.MaxDelay < opt.BaseDelay {
		opt.MaxDelay = opt.BaseDelay
	}
	if opt.Retryable == nil {
		opt.Retryable = func(error) bool { return true }
	}
	if opt.Sleep == nil {
		opt.Sleep = sleep
	}
	if opt.Rand == nil {
		opt.Rand = rand.Float64
	}
	return &Retrying{next: next, opt: opt}
}

// Notify sends n, retrying failures until one succeeds, the attempts run out,
// Retryable refuses the error or ctx is done. Once it gives up it returns the
// last send's error, wrapped with the attempt count, and with ctx's error too
// if ctx ended the retries. An error Retryable refuses is returned as is.
func (r *Retrying) Notify(ctx context.Context, n crm.Notification) error {
	for attempt := 1; ; attempt++ {
		err := r.next.Notify(ctx, n)
		switch {
		case err == nil:
			return nil
		case !r.opt.Retryable(err):
			return err
		case attempt == r.opt.Attempts:
			return fmt.Errorf("attempt %d of %d: %w", attempt, r.opt.Attempts, err)
		}
		stop := ctx.Err()
		if stop == nil {
			stop = r.opt.Sleep(ctx, r.delay(attempt))
		}
		if stop != nil {
			if errors.Is(err, stop) {
				// The send itself saw ctx end; saying so twice adds nothing.
				return fmt.Errorf("attempt %d of %d: %w", attempt, r.opt.Attempts, err)
			}
			return fmt.Errorf("attempt %d of %d: %w: %w", attempt, r.opt.Attempts, stop, err)
		}
	}
}

// delay returns the wait after the given failed attempt (1-based): the
// backoff BaseDelay·2^(attempt-1), capped at MaxDelay, of which the upper half
// is jittered. Keeping the lower half fixed means each wait is still longer
// than the one before (until the cap), while the jitter spreads out
// notifiers that failed together.
func (r *Retrying) delay(attempt int) time.Duration {
	backoff := r.opt.BaseDelay
	for i := 1; i < attempt && backoff < r.opt.MaxDelay; i++ {
		backoff *= 2
	}
	backoff = min(backoff, r.opt.MaxDelay)
	half := backoff / 2
	return half + time.Duration(r.opt.Rand()*float64(backoff-half))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
