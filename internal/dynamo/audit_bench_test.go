package dynamo_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// BenchmarkAuditedUpdate prices the audit trail: the same customer update
// (a conditional put of the profile) with its audit entry in the same
// transaction — a read of the chain head plus two more puts — and without.
func BenchmarkAuditedUpdate(b *testing.B) {
	e := testenv.New(b)
	table := e.Services.Table
	ctx := context.Background()
	actor := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	c, err := e.Services.API.Customers.Create(ctx, actor, crm.CustomerInput{Name: "Li Wei", Phone: "+8613800138000"}, false)
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		write func(ctx context.Context, prev, next crm.Customer, a crm.Audit) error
	}{
		{"unaudited", table.UpdateCustomerUnaudited},
		{"audited", table.Customers().UpdateCustomer},
	} {
		b.Run(tt.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := range b.N {
				next := c
				next.Company, next.Version = fmt.Sprint("Company ", i), c.Version+1
				a := crm.NewAudit(ctx, actor, "customer.update", "customer", c.ID, "company")
				start := time.Now()
				if err := tt.write(ctx, c, next, a); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				c = next
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
