package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// BenchmarkCustomerReportBySegment reads the customers report over 1 000
// and then 10 000 customers created across 36 months in five segments, so
// that every month × segment counter exists (180 of them), and reports the
// items and read capacity each read consumed, its latency, and how many
// attributes and bytes the month × segment counters add to the `cust`
// aggregate. The counters grow with months and segments, not customers.
func BenchmarkCustomerReportBySegment(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	db := &countingDB{Client: e.DB}
	store, err := dynamo.Open(ctx, e.StoreConfig(db))
	if err != nil {
		b.Fatal(err)
	}
	reports := &crm.Reports{Store: store.Aggregates(), Targets: crm.DefaultTargets, Now: time.Now}
	now := time.Now().UTC()
	segments := []string{"", "retail", "smb", "vip", "partner"}
	seeded := 0
	for _, size := range []int{1_000, 10_000} {
		for start := seeded; start < size; start += 1000 {
			var cs []crm.Customer
			for i := start; i < min(start+1000, size); i++ {
				// The 15th: AddDate from the 30th would skip February.
				created := time.Date(now.Year(), now.Month()-time.Month(i%36), 15, 12, 0, 0, 0, time.UTC)
				cs = append(cs, crm.Customer{ID: fmt.Sprintf("c_nseg%016d", i), Name: "Seeded Customer", Email: fmt.Sprintf("nseg%d@example.com", i),
					OwnerID: fmt.Sprintf("rep%d", i%20), Segment: segments[i%len(segments)], CreatedAt: created, UpdatedAt: created,
					ReviewDueAt: now.Add(180 * 24 * time.Hour), Version: 1})
			}
			if err := store.SeedCustomers(ctx, cs); err != nil {
				b.Fatal(err)
			}
		}
		seeded = size
		res, err := store.Aggregates().Rebuild(ctx, e.Config.Policy, true, nil)
		if err != nil {
			b.Fatal(err)
		}
		var attrs, bytes int
		for k, v := range res.Computed[crm.AggCustomers] {
			if strings.HasPrefix(k, "newseg#") {
				attrs++
				bytes += len(k) + len(strconv.FormatInt(v, 10))
			}
		}
		b.Run(fmt.Sprintf("customers=%d", size), func(b *testing.B) {
			var items, rcu []float64
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				db.items.Store(0)
				db.rcu.Store(0)
				start := time.Now()
				rep, err := reports.Customers(ctx)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				items = append(items, float64(db.items.Load()))
				rcu = append(rcu, float64(db.rcu.Load())/1000)
				cells := 0
				for m, bySeg := range rep.NewPerMonthBySegment {
					var sum int64
					for _, n := range bySeg {
						sum += n
						cells++
					}
					if sum != rep.NewPerMonth[m] {
						b.Fatalf("month %s: %d over its segments, %d new", m, sum, rep.NewPerMonth[m])
					}
				}
				if cells != 36*len(segments) {
					b.Fatalf("%d month × segment cells, want %d", cells, 36*len(segments))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(median(items), "items-read/op")
			b.ReportMetric(median(rcu), "RCU/op")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(attrs), "newseg-attrs")
			b.ReportMetric(float64(bytes), "newseg-bytes")
		})
	}
}
