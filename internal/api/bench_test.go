package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/app"
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
// gateway (HTTP, JWT verification, event, handler, store, decryption) with
// the raw GetItem it needs, on the same DynamoDB Local.
func BenchmarkGetCustomer(b *testing.B) {
	e := testenv.New(b)
	token := e.Token("root", "admin")
	id := mustCreate(e, token, fullBody)
	req, _ := http.NewRequest("GET", e.Server.URL+"/customers/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := e.Server.Client()
	ctx := context.Background()
	key := map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "CUST#" + id}, "SK": &types.AttributeValueMemberS{Value: "PROFILE"}}

	b.Run("raw-getitem", func(b *testing.B) {
		reportLatency(b, func() {
			out, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.Config.Table), Key: key, ConsistentRead: aws.Bool(true)})
			if err != nil || out.Item == nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("gateway", func(b *testing.B) {
		reportLatency(b, func() {
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		})
	})
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
				c, err := e.Services.Deps.Customers.Create(ctx, admin, crm.CustomerInput{Name: "Customer", Phone: fmt.Sprintf("+86138%08d", i), Email: fmt.Sprintf("c%d@example.com", i)}, false)
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = c.ID
			}
			b.StopTimer()
			b.ReportMetric(float64(calls()-before)*1000/float64(b.N), "kms-calls/1000-creates")

			// Another process reads them: a new store with a cold cache.
			svc, err := app.Build(ctx, e.Config, e.DB, kr, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				b.Fatal(err)
			}
			before = calls()
			for _, id := range ids {
				if _, err := svc.Store.GetCustomer(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(calls()-before)*1000/float64(b.N), "kms-calls/1000-reads")
		})
	}
}
