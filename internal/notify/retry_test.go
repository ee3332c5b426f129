package notify_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/notify"
)

// notifierFunc adapts a function to crm.Notifier.
type notifierFunc func(ctx context.Context, n crm.Notification) error

func (f notifierFunc) Notify(ctx context.Context, n crm.Notification) error { return f(ctx, n) }

// sleepRecorder is a RetryOptions.Sleep that records the waits instead of
// waiting, and returns ctx's error as the real one would.
type sleepRecorder struct{ waits []time.Duration }

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func half() float64 { return 0.5 }

func TestRetryingSucceedsAfterFailures(t *testing.T) {
	rec := &crmfake.Notifier{}
	var sl sleepRecorder
	r := notify.NewRetrying(rec, notify.RetryOptions{Sleep: sl.sleep, Rand: half})

	rec.FailNext(2, notify.ErrUnavailable)
	n := sample("n-1")
	if err := r.Notify(context.Background(), n); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	if got := rec.Attempts(); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
	if got := rec.Sent(); !slices.Equal(got, []crm.Notification{n}) {
		t.Errorf("Sent() = %v, want just %v", got, n)
	}
	// Backoff 100ms then 200ms; the fixed lower half plus half the jittered upper half.
	if want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond}; !slices.Equal(sl.waits, want) {
		t.Errorf("waits = %v, want %v", sl.waits, want)
	}
}

func TestRetryingGivesUp(t *testing.T) {
	var errs []error
	next := notifierFunc(func(context.Context, crm.Notification) error {
		err := fmt.Errorf("send %d: %w", len(errs)+1, notify.ErrUnavailable)
		errs = append(errs, err)
		return err
	})
	tests := []struct {
		name     string
		attempts int
		want     int
	}{
		{"ErrLast after the default 3 attempts", 0, 3},
		{"ErrLast after 5 configured attempts", 5, 5},
		{"ErrLast after a single attempt", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs = nil
			var sl sleepRecorder
			r := notify.NewRetrying(next, notify.RetryOptions{Attempts: tt.attempts, Sleep: sl.sleep})

			err := r.Notify(context.Background(), sample("n-1"))
			if len(errs) != tt.want {
				t.Fatalf("attempts = %d, want %d", len(errs), tt.want)
			}
			if !errors.Is(err, errs[len(errs)-1]) || (len(errs) > 1 && errors.Is(err, errs[0])) {
				t.Errorf("Notify = %v, want the last send's error %v", err, errs[len(errs)-1])
			}
			if !errors.Is(err, notify.ErrUnavailable) {
				t.Errorf("Notify = %v, want it to still wrap ErrUnavailable", err)
			}
			if len(sl.waits) != tt.want-1 {
				t.Errorf("slept %d times, want %d (none after the last attempt)", len(sl.waits), tt.want-1)
			}
		})
	}
}

func TestRetryingStops(t *testing.T) {
	permanent := errors.New("topic not found")
	tests := []struct {
		name      string
		opt       func(cancel context.CancelFunc) notify.RetryOptions
		next      func(cancel context.CancelFunc) crm.Notifier
		wantCalls int
		wantErr   error
	}{
		{
			name: "Canceled while sleeping",
			opt: func(cancel context.CancelFunc) notify.RetryOptions {
				return notify.RetryOptions{Attempts: 5, Sleep: func(ctx context.Context, d time.Duration) error {
					cancel()
					return ctx.Err()
				}}
			},
			next: func(context.CancelFunc) crm.Notifier {
				r := &crmfake.Notifier{}
				r.FailNext(10, notify.ErrUnavailable)
				return r
			},
			wantCalls: 1,
			wantErr:   context.Canceled,
		},
		{
			name: "Canceled during a send without sleeping",
			opt: func(context.CancelFunc) notify.RetryOptions {
				return notify.RetryOptions{Attempts: 5, Sleep: func(context.Context, time.Duration) error {
					panic("slept after ctx was done")
				}}
			},
			next: func(cancel context.CancelFunc) crm.Notifier {
				return notifierFunc(func(ctx context.Context, n crm.Notification) error {
					cancel()
					return fmt.Errorf("publish: %w", ctx.Err())
				})
			},
			wantCalls: 1,
			wantErr:   context.Canceled,
		},
		{
			name: "ErrNotRetryable after one attempt",
			opt: func(context.CancelFunc) notify.RetryOptions {
				return notify.RetryOptions{
					Retryable: func(err error) bool { return errors.Is(err, notify.ErrUnavailable) },
					Sleep:     func(context.Context, time.Duration) error { panic("slept for a permanent error") },
				}
			},
			next:      func(context.CancelFunc) crm.Notifier { r := &crmfake.Notifier{}; r.FailNext(10, permanent); return r },
			wantCalls: 1,
			wantErr:   permanent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := 0
			inner := tt.next(cancel)
			counted := notifierFunc(func(ctx context.Context, n crm.Notification) error {
				calls++
				return inner.Notify(ctx, n)
			})
			r := notify.NewRetrying(counted, tt.opt(cancel))

			err := r.Notify(ctx, sample("n-1"))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Notify = %v, want %v", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("attempts = %d, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestRetryingBackoff(t *testing.T) {
	tests := []struct {
		name string
		rand float64
		want []time.Duration
	}{
		{"lowest jitter doubles", 0, []time.Duration{50, 100, 150, 150, 150}},
		{"highest jitter stays under the cap", 0.999, []time.Duration{99, 199, 299, 299, 299}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &crmfake.Notifier{}
			rec.FailNext(100, notify.ErrUnavailable)
			var sl sleepRecorder
			r := notify.NewRetrying(rec, notify.RetryOptions{
				Attempts:  6,
				BaseDelay: 100 * time.Millisecond,
				MaxDelay:  300 * time.Millisecond,
				Sleep:     sl.sleep,
				Rand:      func() float64 { return tt.rand },
			})

			r.Notify(context.Background(), sample("n-1"))
			got := make([]time.Duration, len(sl.waits))
			for i, w := range sl.waits {
				got[i] = w / time.Millisecond
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("waits in ms = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryingDefaultSleepHonoursDeadline(t *testing.T) {
	rec := &crmfake.Notifier{}
	rec.FailNext(10, notify.ErrUnavailable)
	r := notify.NewRetrying(rec, notify.RetryOptions{BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()

	start := time.Now()
	err := r.Notify(ctx, sample("n-1"))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, notify.ErrUnavailable) {
		t.Errorf("Notify = %v, want the deadline and the last send's error", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Notify took %v, want it to return at the deadline", elapsed)
	}
}
