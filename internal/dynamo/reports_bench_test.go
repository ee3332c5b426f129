package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// BenchmarkReports reads each report over 1 000 and then 100 000 customers
// (20 owners) and reports the items and read capacity each read consumed
// and its latency. The aggregates are built by `reports rebuild` after each
// bulk load, as the stream consumer would have kept them. The target: a
// report over 100 000 customers reads at most 1.2 times what it reads over
// 1 000.
func BenchmarkReports(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	db := &countingDB{Client: e.DB}
	store, err := dynamo.Open(ctx, e.StoreConfig(db))
	if err != nil {
		b.Fatal(err)
	}
	// The rebuild is the setup, not what is measured: it scans through a
	// client without the per-call limit (testenv.Env.ScanDB).
	rebuilder, err := dynamo.Open(ctx, e.StoreConfig(e.ScanDB()))
	if err != nil {
		b.Fatal(err)
	}
	reports := &crm.Reports{Store: store.Aggregates(), Targets: crm.DefaultTargets, Now: time.Now}
	admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	now := time.Now().UTC()
	seeded := 0
	for _, size := range []int{1_000, 100_000} {
		seedCustomers(b, store, seeded, size, now)
		seedActivity(b, store, seeded, size, now)
		seeded = size
		if _, err := rebuilder.Aggregates().Rebuild(ctx, e.Config.Policy, true, nil); err != nil {
			b.Fatal(err)
		}
		for _, r := range []struct {
			name string
			read func() error
		}{
			{"data-quality", func() error { _, err := reports.DataQuality(ctx, admin); return err }},
			{"complaints", func() error { _, err := reports.Complaints(ctx, now.AddDate(0, 0, -84), now); return err }},
			{"customers", func() error { _, err := reports.Customers(ctx); return err }},
		} {
			b.Run(fmt.Sprintf("%s/customers=%d", r.name, size), func(b *testing.B) {
				var items, rcu []float64
				lat := make([]time.Duration, 0, b.N)
				for range b.N {
					db.items.Store(0)
					db.rcu.Store(0)
					start := time.Now()
					if err := r.read(); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
					items = append(items, float64(db.items.Load()))
					rcu = append(rcu, float64(db.rcu.Load())/1000)
				}
				slices.Sort(lat)
				b.ReportMetric(median(items), "items-read/op")
				b.ReportMetric(median(rcu), "RCU/op")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			})
		}
	}
}
