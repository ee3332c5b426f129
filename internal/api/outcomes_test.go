package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/streams"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// deliverStream hands the consumer every record the table's stream holds,
// as the reports function would.
func deliverStream(t *testing.T, e *testenv.Env) {
	t.Helper()
	ctx := context.Background()
	arn, err := streams.StreamARN(ctx, e.DB, e.Config.Table)
	if err != nil {
		t.Fatal(err)
	}
	h := app.StreamHandler(e.Services, nil)
	p := streams.New(e.StreamsClient(), arn, func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
		return h(ctx, ev)
	}, streams.Options{})
	if _, err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCustomerLost(t *testing.T) {
	e := testenv.New(t)
	alice, admin := e.Token("alice", "sales"), e.Token("root", "admin")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "email": "li.wei@corp.cn"})
	path := "/customers/" + id + "/lost"

	t.Run("MarkedWithReason", func(t *testing.T) {
		r := post(e, alice, path, map[string]any{"reason": "competitor"})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		lost, _ := r.Map(t)["lost"].(map[string]any)
		if lost["reason"] != "competitor" || lost["at"] == nil || r.Header.Get("ETag") != `"2"` {
			t.Errorf("lost %v, ETag %s", lost, r.Header.Get("ETag"))
		}
		g := get(e, admin, "/customers/"+id).Map(t)
		if g["lost"].(map[string]any)["reason"] != "competitor" {
			t.Errorf("the mark is not on the customer: %v", g["lost"])
		}
	})
	t.Run("Audited", func(t *testing.T) {
		var entries struct {
			Items []struct {
				Action        string   `json:"action"`
				ChangedFields []string `json:"changedFields"`
			} `json:"items"`
		}
		get(e, admin, "/audit?entityId="+id).JSON(t, &entries)
		if !slices.ContainsFunc(entries.Items, func(x struct {
			Action        string   `json:"action"`
			ChangedFields []string `json:"changedFields"`
		}) bool {
			return x.Action == "customer.lost" && slices.Equal(x.ChangedFields, []string{"lost"})
		}) {
			t.Errorf("no customer.lost entry: %+v", entries.Items)
		}
	})
	t.Run("ErrUnknownReason", func(t *testing.T) {
		r := post(e, alice, path, map[string]any{"reason": "bored"})
		if r.Status != http.StatusBadRequest || !slices.Equal(fieldsOf(t, r), []string{"reason"}) {
			t.Errorf("status %d %s", r.Status, r.Body)
		}
		if r := post(e, alice, path, map[string]any{"reason": "price", "note": "x"}); r.Status != http.StatusBadRequest {
			t.Errorf("unknown member: %d", r.Status)
		}
	})
	t.Run("ErrNotYours", func(t *testing.T) {
		if r := post(e, e.Token("bob", "sales"), path, map[string]any{"reason": "price"}); r.Status != http.StatusNotFound {
			t.Errorf("another rep: %d", r.Status)
		}
		if r := post(e, e.Token("fay", "finance"), path, map[string]any{"reason": "price"}); r.Status != http.StatusForbidden {
			t.Errorf("finance: %d", r.Status)
		}
	})
	t.Run("VerificationBringsBack", func(t *testing.T) {
		r := post(e, alice, "/customers/"+id+"/verify", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
		if _, ok := r.Map(t)["lost"]; ok {
			t.Errorf("still lost after a verification: %s", r.Body)
		}
	})
	t.Run("CountedInChurn", func(t *testing.T) {
		// Twice: the second pass carries the activity the first derived.
		deliverStream(t, e)
		deliverStream(t, e)
		a, ok, err := e.Services.Table.Outcomes().Activity(context.Background(), id)
		if err != nil || !ok || len(a.Spans) != 2 || a.Spans[0].LostReason != "competitor" || !a.Spans[1].LostAt.IsZero() {
			t.Fatalf("activity %+v %v %v", a, ok, err)
		}
		var rep struct {
			Churn []struct {
				Month        string           `json:"month"`
				Lost         int64            `json:"lost"`
				LostByReason map[string]int64 `json:"lostByReason"`
				Reactivated  int64            `json:"reactivated"`
			} `json:"churn"`
			ChurnByOwner map[string][]map[string]any `json:"churnByOwner"`
		}
		get(e, admin, "/reports/customers").JSON(t, &rep)
		last := rep.Churn[len(rep.Churn)-1]
		if len(rep.Churn) != 12 || last.Lost != 1 || last.LostByReason["competitor"] != 1 || last.Reactivated != 1 {
			t.Errorf("churn this month: %+v", last)
		}
		if own := rep.ChurnByOwner["alice"]; len(own) != 12 || own[11]["lost"] != 1.0 {
			t.Errorf("alice's churn: %v", own)
		}
	})
}

func TestSuspectList(t *testing.T) {
	e := testenv.New(t)
	admin, service := e.Token("root", "admin"), e.Token("sam", "service")
	clean := mustCreate(e, admin, map[string]any{"name": "Li Wei", "email": "li.wei@corp.cn", "phone": "+8613912340567"})
	junk := mustCreate(e, admin, map[string]any{"name": "test", "email": "noreply@corp.cn"})
	junk2 := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "+8613800138000"})
	fixed := mustCreate(e, admin, map[string]any{"name": "客户", "email": "chen@corp.cn"})
	// A throwaway mailbox: judged by the customers function's list.
	junk3 := mustCreate(e, admin, map[string]any{"name": "Zhou Min", "email": "zhou@mailinator.com"})
	if codes := get(e, admin, "/customers/"+junk3).Map(t)["suspect"]; !slices.Equal(toStrings(codes), []string{"disposable_email"}) {
		t.Errorf("suspect codes of a disposable mailbox: %v", codes)
	}

	g := get(e, admin, "/customers/"+junk).Map(t)
	if codes := g["suspect"]; codes == nil || !strings.Contains(strings.Join(toStrings(codes), ","), "placeholder_email") {
		t.Errorf("suspect codes on the customer: %v", codes)
	}
	if _, ok := get(e, admin, "/customers/"+clean).Map(t)["suspect"]; ok {
		t.Errorf("a clean customer is suspect")
	}
	// A steward corrects one: it leaves the list.
	if r := patch(e, admin, "/customers/"+fixed, "", map[string]any{"name": "Chen Jie"}); r.Status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	deliverStream(t, e)

	var page struct {
		Items []struct {
			ID      string   `json:"id"`
			Suspect []string `json:"suspect"`
		} `json:"items"`
		NextCursor string `json:"nextCursor"`
	}
	r := get(e, service, "/customers?suspect=true")
	r.JSON(t, &page)
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	slices.Sort(ids)
	want := []string{junk, junk2, junk3}
	slices.Sort(want)
	if r.Status != http.StatusOK || !slices.Equal(ids, want) {
		t.Errorf("suspect list: %d %v, want %v", r.Status, ids, want)
	}
	t.Run("Paged", func(t *testing.T) {
		var first struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"nextCursor"`
		}
		get(e, admin, "/customers?suspect=true&limit=1").JSON(t, &first)
		if len(first.Items) != 1 || first.NextCursor == "" {
			t.Fatalf("first page: %+v", first)
		}
		var second struct {
			Items []map[string]any `json:"items"`
		}
		get(e, admin, "/customers?suspect=true&limit=1&cursor="+first.NextCursor).JSON(t, &second)
		if len(second.Items) != 1 || second.Items[0]["id"] == first.Items[0]["id"] {
			t.Errorf("second page: %+v", second)
		}
	})
	t.Run("ErrForbidden", func(t *testing.T) {
		for _, role := range []string{"sales", "finance", "auditor"} {
			if r := get(e, e.Token("x", role), "/customers?suspect=true"); r.Status != http.StatusForbidden {
				t.Errorf("%s: %d", role, r.Status)
			}
		}
	})
	t.Run("CountedInDataQuality", func(t *testing.T) {
		var q struct {
			SuspectRate float64         `json:"suspectRate"`
			Met         map[string]bool `json:"met"`
		}
		get(e, admin, "/reports/data-quality").JSON(t, &q)
		if q.SuspectRate != 0.6 || q.Met["suspectRate"] {
			t.Errorf("suspect rate %v, met %v; want 0.6, missed", q.SuspectRate, q.Met["suspectRate"])
		}
	})
}
