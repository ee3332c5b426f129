package dynamo_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestAggregateFamiliesReadWholeAndByMember: the aggregates of a family
// (here every owner's) are read whole in one Query, or a few members at a
// time, and each member gets exactly its own counts, though owner names
// sort around the separator ("ann b" before "ann", "ann#1x" inside ann's
// range). A rebuild moves an owner's aggregate kept in a partition of its
// own, as before families, into the family.
func TestAggregateFamiliesReadWholeAndByMember(t *testing.T) {
	e := testenv.New(t)
	ctx := context.Background()
	store, err := dynamo.Open(ctx, e.StoreConfig(e.DB))
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]int{"ann": 1, "ann b": 2, "ann#1x": 3, "bob": 4}
	now := time.Now().UTC()
	var cs []crm.Customer
	for o, n := range owners {
		for i := range n {
			cs = append(cs, crm.Customer{ID: fmt.Sprintf("c_fam_%s_%d", o, i), Name: "Family Member", Email: fmt.Sprintf("fam%d.%d@example.com", len(cs), i),
				OwnerID: o, CreatedAt: now, UpdatedAt: now, ReviewDueAt: now.Add(90 * 24 * time.Hour), Version: 1})
		}
	}
	if err := store.SeedCustomers(ctx, cs); err != nil {
		t.Fatal(err)
	}
	// An owner's aggregate as stored before families: its own partition.
	legacy := map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: "AGG#" + crm.AggOwner("carol")}, "SK": &types.AttributeValueMemberS{Value: "5"},
		"type": &types.AttributeValueMemberS{Value: "aggregate"}, "customers": &types.AttributeValueMemberN{Value: "7"},
	}
	if _, err := e.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.Config.Table), Item: legacy}); err != nil {
		t.Fatal(err)
	}

	aggs := store.Aggregates()
	res, err := aggs.Rebuild(ctx, e.Config.Policy, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Stored[crm.AggOwner("carol")]["customers"]; got != 7 {
		t.Errorf("the rebuild read carol's own-partition aggregate as %d customers, want 7", got)
	}
	left, err := e.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(e.Config.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": legacy["PK"], "SK": legacy["SK"]}})
	if err != nil {
		t.Fatal(err)
	}
	if left.Item != nil {
		t.Error("the rebuild left the own-partition aggregate in place")
	}

	want := func(o string) crm.Counts { return res.Computed[crm.AggOwner(o)] }
	for o, n := range owners {
		if got := res.Computed[crm.AggCustomers]["owner#"+o]; got != int64(n) {
			t.Fatalf("the rebuild counted %d customers for %q, seeded %d", got, o, n)
		}
		if len(want(o)) == 0 {
			t.Fatalf("the rebuild computed nothing for %q", o)
		}
	}
	if maps.Equal(want("ann"), want("ann b")) {
		t.Fatal("owners seeded with different counts have equal aggregates; the test could not tell them apart")
	}

	family, err := aggs.AggregateFamily(ctx, crm.AggOwnerFamily)
	if err != nil {
		t.Fatal(err)
	}
	if len(family) != len(owners) {
		t.Errorf("the family holds %d owners, want %d: %v", len(family), len(owners), sortedNames(family))
	}
	for o := range owners {
		if !maps.Equal(family[crm.AggOwner(o)], want(o)) {
			t.Errorf("family read of %q = %v, want %v", o, family[crm.AggOwner(o)], want(o))
		}
	}
	for _, asked := range [][]string{{"ann"}, {"ann b"}, {"ann#1x"}, {"ann", "ann b"}, {"ann b", "bob"}, {"ann#1x", "nobody"}} {
		names := []string{crm.AggCustomers}
		for _, o := range asked {
			names = append(names, crm.AggOwner(o))
		}
		got, err := aggs.Aggregates(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(names) {
			t.Errorf("asked for %v, got %v", names, sortedNames(got))
		}
		if !maps.Equal(got[crm.AggCustomers], res.Computed[crm.AggCustomers]) {
			t.Errorf("asked for %v: the overall aggregate = %v, want %v", names, got[crm.AggCustomers], res.Computed[crm.AggCustomers])
		}
		for _, o := range asked {
			if !maps.Equal(got[crm.AggOwner(o)], want(o)) {
				t.Errorf("asked for %v: %q = %v, want %v", asked, o, got[crm.AggOwner(o)], want(o))
			}
		}
	}
	if _, err := aggs.AggregateFamily(ctx, crm.AggCustomers); err == nil {
		t.Error("an aggregate of no family was read as a family")
	}
}

func sortedNames(m map[string]crm.Counts) []string { return slices.Sorted(maps.Keys(m)) }
