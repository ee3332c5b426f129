package dynamo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestConcurrentAccessCountsAreExact: a burst of concurrent counts for one
// user and day, grouped into fewer writes, adds up to exactly the number of
// counts, kept apart by kind and by user.
func TestConcurrentAccessCountsAreExact(t *testing.T) {
	e := testenv.New(t)
	log := e.Services.Table.AccessLog()
	ctx := context.Background()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 120 {
		user, kind := "root", crm.AccessSensitive
		switch {
		case i%6 == 0:
			user = "fay"
		case i%5 == 0:
			kind = crm.AccessRefused
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := log.CountAccess(ctx, user, at, kind); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	days, err := log.AccessDays(ctx, at, at)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]crm.AccessDay{}
	for _, d := range days {
		got[d.User] = d
	}
	// i%6==0: 20 for fay; of the other 100, i%5==0 and not i%6==0: 20 refused.
	if r := got["root"]; r.SensitiveReads != 80 || r.Refused != 20 {
		t.Errorf("root: %+v, want 80 sensitive reads and 20 refused", r)
	}
	if f := got["fay"]; f.SensitiveReads != 20 || f.Refused != 0 {
		t.Errorf("fay: %+v, want 20 sensitive reads", f)
	}
}
