package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/phone"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// writeMeter asks every write for the capacity it consumed, the table's
// and each index's, and adds it up (in thousandths of a unit).
type writeMeter struct {
	*dynamodb.Client
	wcu atomic.Int64
}

func (m *writeMeter) add(ccs ...types.ConsumedCapacity) {
	for _, cc := range ccs {
		if cc.CapacityUnits != nil {
			m.wcu.Add(int64(*cc.CapacityUnits * 1000))
		}
	}
}

func (m *writeMeter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.Client.TransactWriteItems(ctx, in, o...)
	if err == nil {
		m.add(out.ConsumedCapacity...)
	}
	return out, err
}

func (m *writeMeter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.Client.PutItem(ctx, in, o...)
	if err == nil && out.ConsumedCapacity != nil {
		m.add(*out.ConsumedCapacity)
	}
	return out, err
}

func (m *writeMeter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	out, err := m.Client.UpdateItem(ctx, in, o...)
	if err == nil && out.ConsumedCapacity != nil {
		m.add(*out.ConsumedCapacity)
	}
	return out, err
}

// runSeq keeps each benchmark run's ids and contacts apart.
var runSeq atomic.Int64

// BenchmarkWriteCapacity prices the same writes — a customer with every
// field, a complaint about it, two transitions — in write capacity units,
// on the table as it is (keys-only indexes) and on one whose indexes
// project every attribute, in one run. The metric is WCU per round.
func BenchmarkWriteCapacity(b *testing.B) {
	e := testenv.New(b)
	ctx := context.Background()
	all := e.Config.Table + "-all"
	if err := dynamo.EnsureTableProjectingAll(ctx, e.DB, all); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = e.DB.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &all}) })
	for _, tt := range []struct{ name, table string }{{"projection=keys-only", e.Config.Table}, {"projection=all", all}} {
		b.Run(tt.name, func(b *testing.B) {
			meter := &writeMeter{Client: e.DB}
			cfg := e.StoreConfig(meter)
			cfg.Table = tt.table
			table, err := dynamo.Open(ctx, cfg)
			if err != nil {
				b.Fatal(err)
			}
			policy := crm.DefaultPolicy(phone.E164)
			run := runSeq.Add(1) * 1_000_000
			var seq atomic.Int64
			newID := func(p string) string { return fmt.Sprintf("%s_%d", p, run+seq.Add(1)) }
			customers := &crm.Customers{Store: table.Customers(), Complaints: table.Complaints(), Audit: table.AuditLog(), Policy: policy, Now: time.Now, NewID: newID}
			complaints := &crm.Complaints{Store: table.Complaints(), Customers: table.Customers(), SLA: crm.DefaultSLAPolicy(),
				Assignment: crm.Assignment{Mode: crm.AssignOwner}, Categories: crm.DefaultCategories, Notifier: &crmfake.Notifier{}, Now: time.Now, NewID: newID}
			admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
			agent := crm.Actor{ID: "sam", Roles: []crm.Role{crm.RoleService}}
			meter.wcu.Store(0)
			b.ResetTimer()
			for i := range b.N {
				n := run + int64(i)
				c, err := customers.Create(ctx, admin, crm.CustomerInput{Name: "Li Wei", Phone: fmt.Sprintf("+86138%08d", n), Email: fmt.Sprintf("c%d@example.com", n),
					Address: &crm.Address{Line1: "88 Jianguo Road", City: "Beijing", Country: "CN"}, Company: "Acme", Segment: "vip", Tags: []string{"a", "b"},
					NationalID: fmt.Sprintf("1101011990%08d", n), Billing: &crm.Billing{BankAccount: "CN12BANK0000123456789"}, OwnerID: "alice"}, false)
				if err != nil {
					b.Fatal(err)
				}
				k, err := complaints.File(ctx, agent, crm.ComplaintInput{CustomerID: c.ID, Channel: "phone", Category: "billing", Severity: "high",
					Subject: "Charged twice this month", Description: "The customer was debited twice for the same invoice and wants a refund."})
				if err != nil {
					b.Fatal(err)
				}
				for _, to := range []string{crm.ActionInProgress, crm.ActionResolve} {
					in := crm.TransitionInput{To: to, Note: "working on it"}
					if to == crm.ActionResolve {
						in.Resolution = &crm.Resolution{Summary: "refunded", RootCause: "double debit", Remedy: "refund"}
					}
					if _, err := complaints.Transition(ctx, agent, k.ID, nil, in); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(meter.wcu.Load())/1000/float64(b.N), "WCU/round")
		})
	}
}
