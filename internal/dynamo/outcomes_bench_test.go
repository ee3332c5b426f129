package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// seedActivity gives seeded customers from to to a year of activity: a
// span that went dormant, a reactivation for a third, a lost mark for a
// tenth, and update cycles, so that the churn and cycle counters a report
// reads are as many as a real year's.
func seedActivity(b *testing.B, store *dynamo.Table, from, to int, now time.Time) {
	ctx := context.Background()
	d := crm.DefaultDormantAfter
	var acts []crm.Activity
	for i := from; i < to; i++ {
		start := now.AddDate(-1, 0, 0).Add(time.Duration(i%365) * 24 * time.Hour)
		a := crm.Activity{CustomerID: fmt.Sprintf("c_seed%016d", i), OwnerID: fmt.Sprintf("rep%d", i%20),
			Segment: []string{"", "retail", "vip", "smb"}[i%4], Version: 1}
		a.Touch(start, d)
		if i%3 == 0 {
			a.Touch(start.Add(d+time.Duration(i%90)*24*time.Hour), d)
		}
		if i%10 == 0 {
			a.MarkLost(a.Spans[len(a.Spans)-1].Start.Add(time.Hour), crm.DefaultLostReasons[i%6])
		}
		a.AddCycle(time.Duration(i%72) * time.Hour)
		acts = append(acts, a)
		if len(acts) == 1000 || i == to-1 {
			if err := store.SeedActivity(ctx, acts); err != nil {
				b.Fatal(err)
			}
			acts = acts[:0]
		}
	}
}
