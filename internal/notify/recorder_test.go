package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/clientele-crm/clientele/internal/notify"
)

func TestRecorder(t *testing.T) {
	t.Run("FailNext fails then records", func(t *testing.T) {
		r := notify.NewRecorder()
		boom := errors.New("boom")
		r.FailNext(2, boom)
		for i := range 2 {
			if err := r.Notify(context.Background(), sample("n-1")); !errors.Is(err, boom) {
				t.Fatalf("call %d = %v, want %v", i+1, err, boom)
			}
		}
		if err := r.Notify(context.Background(), sample("n-1")); err != nil {
			t.Fatalf("third call = %v, want success", err)
		}
		if got := len(r.Sent()); got != 1 || r.Calls() != 3 {
			t.Errorf("Sent() has %d after %d calls, want 1 after 3", got, r.Calls())
		}
	})
	t.Run("FailNext without an error is ErrUnavailable", func(t *testing.T) {
		r := notify.NewRecorder()
		r.FailNext(1, nil)
		if err := r.Notify(context.Background(), sample("n-1")); !errors.Is(err, notify.ErrUnavailable) {
			t.Errorf("Notify = %v, want ErrUnavailable", err)
		}
	})
	t.Run("concurrent sends all recorded", func(t *testing.T) {
		r := notify.NewRecorder()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { r.Notify(context.Background(), sample("n-1")) })
		}
		wg.Wait()
		if got := len(r.Sent()); got != 20 {
			t.Errorf("Sent() has %d, want 20", got)
		}
	})
}
