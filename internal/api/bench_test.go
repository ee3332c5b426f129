package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/app/everything"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/kmsfake"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// reportLatency records each operation's latency and reports the median and
// the 99th percentile alongside ns/op.
func reportLatency(b *testing.B, op func()) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		op()
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkGetCustomer compares GET /customers/{id} through the local
// gateway (HTTP, JWT verification, event, handler, ownership check, store,
// decryption, masking) with the raw GetItem it needs, on the same DynamoDB
// Local. The read is a rep's own customer, which shows no billing and so
// writes no audit entry; "gateway-audited" is the same read by an admin who
// is shown billing and the full national ID, which the audit log records
// before answering.
func BenchmarkGetCustomer(b *testing.B) {
	e := testenv.New(b)
	id := mustCreate(e, e.Token("root", "admin"), fullBody)
	client := e.Server.Client()
	ctx := context.Background()
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "CUST#" + id}, "SK": &types.AttributeValueMemberS{Value: "PROFILE"}}
	getAs := func(token string) func() {
		req, _ := http.NewRequest("GET", e.Server.URL+"/customers/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return func() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}

	raw := func() {
		out, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.Config.Table), Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil || out.Item == nil {
			b.Fatal(err)
		}
	}
	gateway := getAs(e.Token("alice", "sales"))
	// Warm both paths (and DynamoDB Local's JIT) so that neither pays for
	// running first.
	for range 300 {
		raw()
		gateway()
	}
	b.Run("raw-getitem", func(b *testing.B) { reportLatency(b, raw) })
	b.Run("gateway", func(b *testing.B) { reportLatency(b, gateway) })
	b.Run("gateway-audited", func(b *testing.B) { reportLatency(b, getAs(e.Token("root", "admin"))) })
}

// BenchmarkKMSCalls counts KMS calls for creates and for reads of distinct
// customers, with the data-key cache on and off. Run with -benchtime=1000x:
// the metrics are calls per 1 000 operations.
func BenchmarkKMSCalls(b *testing.B) {
	for _, cache := range []struct {
		name string
		opt  envelope.Options
	}{{"cache-on", envelope.Options{}}, {"cache-off", envelope.Options{Disabled: true}}} {
		b.Run(cache.name, func(b *testing.B) {
			fake := kmsfake.New()
			defer fake.Close()
			kr := envelope.NewKMSKeyring(fake.Client(b), "alias/clientele")
			e := testenv.New(b, testenv.WithKeyring(kr), testenv.WithConfig(func(c *app.Config) { c.Cache = cache.opt }))
			admin := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
			ctx := context.Background()
			calls := func() int { return fake.Calls(kmsfake.OpGenerateDataKey) + fake.Calls(kmsfake.OpDecrypt) }

			ids := make([]string, b.N)
			before := calls()
			b.ResetTimer()
			for i := range b.N {
				c, err := e.Services.API.Customers.Create(ctx, admin, crm.CustomerInput{Name: "Customer", Phone: fmt.Sprintf("+86138%08d", i), Email: fmt.Sprintf("c%d@example.com", i)}, false)
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = c.ID
			}
			b.StopTimer()
			b.ReportMetric(float64(calls()-before)*1000/float64(b.N), "kms-calls/1000-creates")

			// Another process reads them: a new store with a cold cache.
			svc, err := app.Build(ctx, e.Config, everything.Function, app.Edges{DB: e.DB, Keyring: kr, Notifier: e.Notifier, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			before = calls()
			for _, id := range ids {
				if _, err := svc.Table.Customers().GetCustomer(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(calls()-before)*1000/float64(b.N), "kms-calls/1000-reads")
		})
	}
}

// BenchmarkComplaintIntake compares POST /complaints through the local
// gateway (JWT, handler, customer read, assignment, SLA, sealing, one
// transaction, notification delivery and its record) with the raw write the
// intake needs: the same transaction of a condition check on the customer,
// the complaint, its two timeline entries and its notification record,
// unsealed.
func BenchmarkComplaintIntake(b *testing.B) {
	e := testenv.New(b)
	token := e.Token("root", "admin")
	cust := mustCreate(e, token, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	body := `{"customerId":"` + cust + `","channel":"phone","category":"delivery","severity":"high","subject":"Damaged parcel","description":"The parcel arrived crushed and the contents were broken."}`
	client := e.Server.Client()
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

	b.Run("raw-write", func(b *testing.B) {
		run, i := time.Now().UnixNano(), 0
		reportLatency(b, func() {
			i++
			id := fmt.Sprintf("k_raw%d_%d", run, i)
			now := time.Now().UTC().Format(time.RFC3339Nano)
			complaint := map[string]types.AttributeValue{"PK": s("COMP#" + id), "SK": s("COMPLAINT"), "type": s("complaint"),
				"GSI1PK": s("ASSIGNEE#root"), "GSI1SK": s(now + "#" + id), "GSI2PK": s("CSTATUS#acknowledged"), "GSI2SK": s(now + "#" + id),
				"GSI3PK": s("COMPLAINT"), "GSI3SK": s(now + "#" + id), "GSI4PK": s("CSLA"), "GSI4SK": s(now + "#" + id),
				"GSI5PK": s("CCUST#" + cust), "GSI5SK": s(now + "#" + id), "GSI6PK": s("CSEV#high"), "GSI6SK": s(now + "#" + id),
				"GSI7PK": s("COWNER#root"), "GSI7SK": s(now + "#" + id), "id": s(id), "customerId": s(cust), "channel": s("phone"),
				"category": s("delivery"), "severity": s("high"), "status": s("acknowledged"), "subject": s("Damaged parcel"),
				"description": s("The parcel arrived crushed and the contents were broken."), "createdAt": s(now), "slaDueAt": s(now)}
			put := func(item map[string]types.AttributeValue) types.TransactWriteItem {
				return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(e.Config.Table), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}
			}
			_, err := e.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
				{ConditionCheck: &types.ConditionCheck{TableName: aws.String(e.Config.Table), ConditionExpression: aws.String("attribute_exists(PK)"),
					Key: map[string]types.AttributeValue{"PK": s("CUST#" + cust), "SK": s("PROFILE")}}},
				put(complaint),
				put(map[string]types.AttributeValue{"PK": s("COMP#" + id), "SK": s("TL#000001"), "action": s("created"), "at": s(now)}),
				put(map[string]types.AttributeValue{"PK": s("COMP#" + id), "SK": s("TL#000002"), "action": s("acknowledged"), "at": s(now)}),
				put(map[string]types.AttributeValue{"PK": s("NOTIF#" + id), "SK": s("NOTIF"), "status": s("pending"), "at": s(now)}),
			}})
			if err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("gateway", func(b *testing.B) {
		reportLatency(b, func() {
			req, _ := http.NewRequest("POST", e.Server.URL+"/complaints", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		})
	})
}
