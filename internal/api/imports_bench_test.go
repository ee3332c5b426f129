package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/testenv"
)

// importBenchRows is how many rows the benchmark's file has
// (IMPORT_BENCH_ROWS, default 20 000), of which 5 % lack a contact
// (invalid) and 3 % repeat an earlier row's phone (duplicates).
func importBenchRows() int {
	if n, err := strconv.Atoi(os.Getenv("IMPORT_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

func importBenchFile(rows int) (csv string, valid int) {
	var sb strings.Builder
	sb.WriteString("name,phone,email,company,ownerId\n")
	for n := 1; n <= rows; n++ {
		switch {
		case n%20 == 0: // 5 % invalid: no contact
			fmt.Fprintf(&sb, "Row %d,,,Acme,alice\n", n)
		case n%100 >= 3 && n%100 < 6 && n > 50: // 3 % duplicates of a valid row 50 earlier
			fmt.Fprintf(&sb, "Row %d,139%08d,,Acme,alice\n", n, n-50)
		default:
			fmt.Fprintf(&sb, "Row %d,139%08d,r%d@example.com,Acme,alice\n", n, n, n)
			valid++
		}
	}
	return sb.String(), valid
}

// BenchmarkBackgroundImport puts 20 000 rows (IMPORT_BENCH_ROWS) through the background import
// (POST /imports through the local gateway, then the in-process queue
// until GET /imports/{id} says done) and, in the same run on the same
// DynamoDB Local, the floor: the writes the valid rows need — the profile,
// a claim and a lookup entry per contact, and an audit entry — sent
// straight to DynamoDB as one TransactWriteItems per row, 16 at a time,
// with nothing sealed, checked or standardized. It reports rows/s of each
// and their ratio.
func BenchmarkBackgroundImport(b *testing.B) {
	e := testenv.New(b)
	admin := e.Token("root", "admin")
	rows := importBenchRows()
	file, valid := importBenchFile(rows)
	var importRate, floorRate float64
	for i := range b.N {
		// The floor first: DynamoDB Local slows down as one process
		// accumulates transactions, so the import pays for the floor's,
		// not the other way round.
		start := time.Now()
		rawFloor(b, e, fmt.Sprintf("floor%d", i), valid)
		floorRate = float64(rows) / time.Since(start).Seconds()

		start = time.Now()
		r := e.Do(testenv.Request{Method: "POST", Path: "/imports", Token: admin, Body: file, Header: map[string]string{"Content-Type": "text/csv"}})
		if r.Status != http.StatusAccepted {
			b.Fatalf("start: %d %.300s", r.Status, r.Body)
		}
		st := awaitImportFor(e, admin, r.Map(b)["id"].(string), 20*time.Minute)
		elapsed := time.Since(start)
		if st.Status != "done" || st.Processed != rows || (i == 0 && st.Created != valid) {
			b.Fatalf("import %+v, want %d created", st, valid)
		}
		importRate = float64(rows) / elapsed.Seconds()
	}
	b.ReportMetric(importRate, "import-rows/s")
	b.ReportMetric(floorRate, "floor-rows/s")
	b.ReportMetric(importRate/floorRate, "ratio")
}

// rawFloor writes, for valid rows, the items a created row needs, plainly.
func rawFloor(b *testing.B, e *testenv.Env, prefix string, rows int) {
	b.Helper()
	ctx := context.Background()
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for n := 1; n <= rows; n++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			id := fmt.Sprintf("%s-%d", prefix, n)
			put := func(table string, item map[string]types.AttributeValue) types.TransactWriteItem {
				return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item, ConditionExpression: aws.String("attribute_not_exists(PK)")}}
			}
			ops := []types.TransactWriteItem{
				put(e.Config.Table, map[string]types.AttributeValue{"PK": s("CUST#" + id), "SK": s("PROFILE"), "type": s("customer"), "name": s(fmt.Sprintf("Row %d", n)),
					"phone": s(fmt.Sprintf("139%08d", n)), "email": s(fmt.Sprintf("r%d at example", n)), "company": s("Acme"), "ownerId": s("alice"), "createdAt": s(now),
					"GSI1PK": s("OWNER#alice"), "GSI1SK": s(now + "#" + id), "GSI3PK": s("CUSTOMER"), "GSI3SK": s(now + "#" + id)}),
				put(e.Config.Table, map[string]types.AttributeValue{"PK": s("IDX#phone#" + id), "SK": s("CLAIM"), "customerId": s(id)}),
				put(e.Config.Table, map[string]types.AttributeValue{"PK": s("IDX#phone#" + id), "SK": s("CUST#" + id), "customerId": s(id)}),
				put(e.Config.Table, map[string]types.AttributeValue{"PK": s("IDX#email#" + id), "SK": s("CLAIM"), "customerId": s(id)}),
				put(e.Config.Table, map[string]types.AttributeValue{"PK": s("IDX#email#" + id), "SK": s("CUST#" + id), "customerId": s(id)}),
				put(e.Config.AuditTable, map[string]types.AttributeValue{"PK": s("CHAIN#" + id), "SK": s("0000000001"), "action": s("customer.create"), "actor": s("root"), "at": s(now),
					"GSI1PK": s("ENTITY#" + id), "GSI1SK": s(now), "GSI2PK": s("ACTOR#root"), "GSI2SK": s(now + "#" + id), "GSI3PK": s("DAY#" + now[:10]), "GSI3SK": s(now + "#" + id)}),
			}
			if _, err := e.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops}); err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}
