package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// countingDB counts the items and read capacity every read returns.
type countingDB struct {
	*dynamodb.Client
	items atomic.Int64
	rcu   atomic.Int64 // in thousandths
}

func (c *countingDB) add(n int32, cc *types.ConsumedCapacity) {
	c.items.Add(int64(n))
	if cc != nil && cc.CapacityUnits != nil {
		c.rcu.Add(int64(*cc.CapacityUnits * 1000))
	}
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.Query(ctx, in, o...)
	if err == nil {
		c.add(out.ScannedCount, out.ConsumedCapacity)
	}
	return out, err
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := c.Client.GetItem(ctx, in, o...)
	if err == nil && out.Item != nil {
		c.add(1, out.ConsumedCapacity)
	}
	return out, err
}

func (c *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := c.Client.BatchGetItem(ctx, in, o...)
	if err == nil {
		for _, items := range out.Responses {
			c.add(int32(len(items)), nil)
		}
	}
	return out, err
}

// BenchmarkReminderRun runs the reminder job over a table of 10 000 and
// then 100 000 customers, each time with the same 500 due items (300
// customers due for review, 100 follow-ups, 100 complaints at their SLA
// warning), and reports the items and read capacity the run consumed. The
// target: the run over 100 000 reads at most 1.2 times the items of the
// run over 10 000.
func BenchmarkReminderRun(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	db := &countingDB{Client: e.DB}
	store, err := dynamo.Open(ctx, e.StoreConfig(db))
	if err != nil {
		b.Fatal(err)
	}
	run := &crm.Reminders{Store: store.Reminders(), Customers: store.Customers(), Portal: e.Services.API.Portal, SLA: e.Config.SLA,
		Breach: e.Config.Breach, Notifier: &crmfake.Notifier{}, Now: time.Now}
	now := time.Now().UTC().Truncate(time.Millisecond)
	seeded := 0
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("customers=%d", size), func(b *testing.B) {
			b.StopTimer()
			seedCustomers(b, store, seeded, size, now)
			seeded = size
			var items, rcu []float64
			var lat []time.Duration
			for i := range b.N {
				asOf := now.Add(time.Duration(i+1) * time.Hour)
				seedDue(b, e, store, fmt.Sprintf("%d-%d", size, i), asOf)
				db.items.Store(0)
				db.rcu.Store(0)
				b.StartTimer()
				start := time.Now()
				rep, err := run.Run(ctx, asOf)
				lat = append(lat, time.Since(start))
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if got := rep.Created[crm.ReminderStaleCustomer] + rep.Created[crm.ReminderFollowUp] + rep.Created[crm.ReminderSLAWarning]; got != 500 || rep.Due != 500 {
					b.Fatalf("run %d over %d customers: %+v, want 500 due and created", i, size, rep)
				}
				items = append(items, float64(db.items.Load()))
				rcu = append(rcu, float64(db.rcu.Load())/1000)
			}
			slices.Sort(lat)
			b.ReportMetric(median(items), "items-read/run")
			b.ReportMetric(median(rcu), "RCU/run")
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms/run")
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// seedCustomers bulk-loads customers from..to, none due: each was updated
// recently and falls due for review months from now.
func seedCustomers(b *testing.B, store *dynamo.Table, from, to int, now time.Time) {
	ctx := context.Background()
	const workers, chunk = 4, 1000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := atomic.Int64{}
	next.Store(int64(from))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= to {
					return
				}
				var cs []crm.Customer
				for i := start; i < min(start+chunk, to); i++ {
					updated := now.Add(-time.Duration(i%1000) * time.Minute)
					cs = append(cs, crm.Customer{ID: fmt.Sprintf("c_seed%016d", i), Name: "Seeded Customer", Email: fmt.Sprintf("seed%d@example.com", i),
						OwnerID: fmt.Sprintf("rep%d", i%20), CreatedAt: updated, UpdatedAt: updated, ReviewDueAt: updated.Add(180 * 24 * time.Hour), Version: 1})
				}
				if err := store.SeedCustomers(ctx, cs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// seedDue adds the 500 items due at asOf.
func seedDue(b *testing.B, e *testenv.Env, store *dynamo.Table, tag string, asOf time.Time) {
	ctx := context.Background()
	past := asOf.Add(-time.Minute)
	var stale []crm.Customer
	for i := range 300 {
		stale = append(stale, crm.Customer{ID: fmt.Sprintf("c_due%s_%d", tag, i), Name: "Due Customer", Email: fmt.Sprintf("due%s.%d@example.com", tag, i),
			OwnerID: "rep1", CreatedAt: past, UpdatedAt: past, ReviewDueAt: past, Version: 1})
	}
	if err := store.SeedCustomers(ctx, stale); err != nil {
		b.Fatal(err)
	}
	actor := crm.Actor{ID: "bench", Roles: []crm.Role{crm.RoleAdmin}}
	for i := range 100 {
		id := fmt.Sprintf("i_due%s_%d", tag, i)
		in := crm.Interaction{ID: id, CustomerID: stale[i].ID, Kind: crm.KindCall, At: past, Summary: "Call back", FollowUpAt: &past, ActorID: "rep1", CreatedAt: past}
		if err := store.Customers().AddInteraction(ctx, in, crm.NewAudit(ctx, actor, "interaction.create", "customer", stale[i].ID)); err != nil {
			b.Fatal(err)
		}
		c := crm.Complaint{ID: fmt.Sprintf("k_due%s_%d", tag, i), CustomerID: stale[i].ID, CustomerOwnerID: "rep1", Channel: "phone", Category: "delivery",
			Severity: crm.SeverityMedium, Subject: "Late", Description: "Late parcel", Status: crm.StatusAcknowledged, AssigneeID: "agent1", FiledBy: "bench",
			CreatedAt: past, UpdatedAt: past, AcknowledgedAt: past, AckDueAt: asOf.Add(time.Hour), SLAWarnAt: past, SLADueAt: asOf.Add(time.Hour), Version: 1, TimelineLen: 1}
		tl := []crm.TimelineEntry{{Seq: 1, At: past, ActorID: "bench", Action: crm.ActionCreated, To: crm.StatusNew}}
		if err := store.Complaints().CreateComplaint(ctx, c, tl, nil, crm.NewAudit(ctx, actor, "complaint.create", "complaint", c.ID)); err != nil {
			b.Fatal(err)
		}
	}
}
