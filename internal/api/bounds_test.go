package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestExportPagedThroughDynamoDB walks an export too large for one Lambda
// response page by page through the gateway: each page fits, every
// interaction comes exactly once, and a cursor works only for its own
// customer's export.
func TestExportPagedThroughDynamoDB(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	other := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	// The longest summary, of the character a Lambda response grows most.
	summary := strings.Repeat("<", 4000)
	boss := crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}
	const n = 200
	for i := range n {
		at := time.Now().Add(-time.Duration(i) * time.Minute).UTC()
		if _, err := e.Services.API.Customers.AddInteraction(context.Background(), boss, id, crm.InteractionInput{Kind: crm.KindNote, At: &at, Summary: summary}); err != nil {
			t.Fatal(err)
		}
	}
	fileComplaint(e, admin, id, "low")

	seen := map[string]bool{}
	complaints, pages, cursor := 0, 0, ""
	for {
		path := "/customers/" + id + "/export"
		if cursor != "" {
			path += "?cursor=" + url.QueryEscape(cursor)
		}
		r := get(e, admin, path)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
		}
		pages++
		if inLambda, _ := json.Marshal(string(r.Body)); len(inLambda) > 6_000_000 {
			t.Fatalf("page %d takes %d bytes in a Lambda response", pages, len(inLambda))
		}
		var x struct {
			Interactions []struct{ ID string }
			Complaints   []struct{ ID string }
			NextCursor   string
		}
		r.JSON(t, &x)
		for _, it := range x.Interactions {
			if seen[it.ID] {
				t.Fatalf("interaction %s on two pages", it.ID)
			}
			seen[it.ID] = true
		}
		complaints += len(x.Complaints)
		if x.NextCursor == "" {
			break
		}
		if pages == 1 {
			if r := get(e, admin, "/customers/"+other+"/export?cursor="+url.QueryEscape(x.NextCursor)); r.Status != 400 {
				t.Errorf("another customer's cursor: %d %s", r.Status, r.Body)
			}
		}
		cursor = x.NextCursor
	}
	if pages < 2 || len(seen) != n || complaints != 1 {
		t.Fatalf("%d pages, %d interactions, %d complaints; want several pages, %d and 1", pages, len(seen), complaints, n)
	}
}
