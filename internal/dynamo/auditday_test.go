package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestAuditByDaySpreadsWritesAndListsEachEntryOnce: a day's entries go to
// several partitions of the ByDay index, not one, and the list by day
// merges them back: across pages and a midnight, every entry once, newest
// first, including one left in the single partition a day had before.
func TestAuditByDaySpreadsWritesAndListsEachEntryOnce(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 2, 21, 0, 0, 0, time.UTC)
	var (
		mu   sync.Mutex
		tick time.Duration
	)
	cfg := e.StoreConfig(e.DB)
	cfg.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick += 7 * time.Minute
		return base.Add(tick)
	}
	table, err := dynamo.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin := crm.Actor{ID: "admin-1", Roles: []crm.Role{crm.RoleAdmin}}
	const n = 40
	for i := range n {
		if err := table.AuditLog().AppendAudit(ctx, crm.NewAudit(ctx, admin, "customer.update", "customer", fmt.Sprintf("c-day-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}

	out, err := e.DB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.Config.AuditTable),
		FilterExpression: aws.String("attribute_exists(GSI3PK)")})
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]bool{}
	var legacy map[string]types.AttributeValue
	for _, it := range out.Items {
		pk := it["GSI3PK"].(*types.AttributeValueMemberS).Value
		parts[pk] = true
		if id, ok := it["entityId"].(*types.AttributeValueMemberS); ok && id.Value == "c-day-05" {
			legacy = it
		}
	}
	if len(out.Items) != n || len(parts) < 8 {
		t.Fatalf("%d entries in %d ByDay partitions, want %d entries over at least 8", len(out.Items), len(parts), n)
	}
	if legacy == nil {
		t.Fatal("no entry for c-day-05")
	}
	// As a stack that ran before the shards wrote it: the day alone.
	day, _, _ := strings.Cut(strings.TrimPrefix(legacy["GSI3PK"].(*types.AttributeValueMemberS).Value, "DAY#"), "#")
	if _, err := e.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(e.Config.AuditTable),
		Key:              map[string]types.AttributeValue{"PK": legacy["PK"], "SK": legacy["SK"]},
		UpdateExpression: aws.String("SET GSI3PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "DAY#" + day}},
	}); err != nil {
		t.Fatal(err)
	}

	f := crm.AuditFilter{From: base, To: base.Add(6 * time.Hour)}
	seen := map[string]int{}
	var last time.Time
	page := crm.Page{Limit: 7}
	for pages := 0; ; pages++ {
		if pages > n {
			t.Fatal("the list does not end")
		}
		got, next, err := table.AuditLog().ListAudit(ctx, f, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > page.Limit {
			t.Fatalf("page of %d, limit %d", len(got), page.Limit)
		}
		for _, en := range got {
			seen[en.EntityID]++
			if !last.IsZero() && !en.At.Before(last) {
				t.Errorf("%s at %s listed after an entry at %s", en.EntityID, en.At, last)
			}
			last = en.At
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	for i := range n {
		if id := fmt.Sprintf("c-day-%02d", i); seen[id] != 1 {
			t.Errorf("%s listed %d times, want once", id, seen[id])
		}
	}
	if first, final := base.Add(7*time.Minute), base.Add(n*7*time.Minute); first.Day() == final.Day() {
		t.Fatalf("the entries do not cross midnight (%s to %s)", first, final)
	}
}
