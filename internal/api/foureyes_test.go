package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// directWrites turns four-eyes approval off (FOUR_EYES=off), for tests of
// the writes themselves.
func directWrites(c *app.Config) { c.FourEyes.Kinds = nil }

type consentRecord struct {
	Purpose string `json:"purpose"`
	Granted bool   `json:"granted"`
	At      string `json:"at"`
	Source  string `json:"source"`
	Actor   string `json:"actor"`
}

func consents(e *testenv.Env, token, id string) []consentRecord {
	e.TB.Helper()
	r := get(e, token, "/customers/"+id+"/consents?limit=200")
	if r.Status != http.StatusOK {
		e.TB.Fatalf("consents: %d %s", r.Status, r.Body)
	}
	var l struct{ Items []consentRecord }
	r.JSON(e.TB, &l)
	return l.Items
}

// latestAgrees fails the test unless the newest record of each purpose is
// the customer's current consent.
func latestAgrees(e *testenv.Env, token, id string) {
	e.TB.Helper()
	var c struct{ Consent map[string]bool }
	get(e, token, "/customers/"+id).JSON(e.TB, &c)
	seen := map[string]bool{}
	for _, r := range consents(e, token, id) {
		if seen[r.Purpose] {
			continue
		}
		seen[r.Purpose] = true
		if r.Granted != c.Consent[r.Purpose] {
			e.TB.Errorf("latest %s record says %t, the customer says %t", r.Purpose, r.Granted, c.Consent[r.Purpose])
		}
	}
}

func TestConsentHistory(t *testing.T) {
	e := testenv.New(t)
	admin, alice := e.Token("root", "admin"), e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "consent": map[string]any{"reminders": true, "marketing": false}})
	got := consents(e, alice, id)
	if len(got) != 1 || got[0].Purpose != "reminders" || !got[0].Granted || got[0].Source != "staff" || got[0].Actor != "alice" {
		t.Fatalf("after create: %+v, want one staff grant of reminders by alice", got)
	}
	latestAgrees(e, alice, id)

	if r := patch(e, alice, "/customers/"+id, "", map[string]any{"consent": map[string]any{"reminders": true, "marketing": true}}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	if r := patch(e, alice, "/customers/"+id, "", map[string]any{"company": "Acme"}); r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	got = consents(e, alice, id)
	if len(got) != 2 || got[0].Purpose != "marketing" || !got[0].Granted {
		t.Fatalf("after patches: %+v, want a marketing grant on top and nothing for the edit that left consent alone", got)
	}
	latestAgrees(e, alice, id)

	link := portalLink(e, alice, id)
	if r := putPortal(e, link, map[string]any{"consent": map[string]any{"reminders": false, "marketing": true}}); r.Status != 200 {
		t.Fatalf("portal: %d %s", r.Status, r.Body)
	}
	got = consents(e, alice, id)
	if len(got) != 3 || got[0] != (consentRecord{Purpose: "reminders", Granted: false, At: got[0].At, Source: "portal", Actor: "customer:" + id}) {
		t.Fatalf("after the portal: %+v, want the customer's withdrawal of reminders on top", got)
	}
	latestAgrees(e, alice, id)

	t.Run("Import", func(t *testing.T) {
		r := post(e, admin, "/customers/import", []any{map[string]any{"name": "Imported", "email": "imported@example.com", "consent": map[string]any{"marketing": true}}})
		var res struct{ Items []struct{ ID string } }
		r.JSON(t, &res)
		if r.Status != 200 || len(res.Items) != 1 || res.Items[0].ID == "" {
			t.Fatalf("import: %d %s", r.Status, r.Body)
		}
		got := consents(e, admin, res.Items[0].ID)
		if len(got) != 1 || got[0].Source != "import" || got[0].Purpose != "marketing" || got[0].Actor != "root" {
			t.Errorf("imported: %+v, want one import grant of marketing", got)
		}
	})
	t.Run("Paged", func(t *testing.T) {
		r := get(e, alice, "/customers/"+id+"/consents?limit=2")
		var l struct {
			Items      []consentRecord
			NextCursor string
		}
		r.JSON(t, &l)
		if len(l.Items) != 2 || l.NextCursor == "" {
			t.Fatalf("first page: %d items, cursor %q", len(l.Items), l.NextCursor)
		}
		r = get(e, alice, "/customers/"+id+"/consents?limit=2&cursor="+l.NextCursor)
		var l2 struct {
			Items      []consentRecord
			NextCursor string
		}
		r.JSON(t, &l2)
		if len(l2.Items) != 1 || l2.NextCursor != "" || l2.Items[0].Source != "staff" || l2.Items[0].Purpose != "reminders" {
			t.Errorf("second page: %+v", l2)
		}
	})
	t.Run("Scope", func(t *testing.T) {
		for _, c := range []struct {
			token string
			want  int
		}{{e.Token("bob", "sales"), 404}, {e.Token("fin", "finance"), 403}, {e.Token("aud", "auditor"), 200}, {e.Token("svc", "service"), 200}} {
			if r := get(e, c.token, "/customers/"+id+"/consents"); r.Status != c.want {
				t.Errorf("status %d, want %d", r.Status, c.want)
			}
		}
	})
	t.Run("Export", func(t *testing.T) {
		r := get(e, admin, "/customers/"+id+"/export")
		var x struct{ Consents []consentRecord }
		r.JSON(t, &x)
		if r.Status != 200 || !slices.Equal(x.Consents, consents(e, admin, id)) {
			t.Errorf("export: %d, consents %+v", r.Status, x.Consents)
		}
	})
}

// consentItems returns the consent records an erased customer left in the
// table, read directly: the API answers 410 for the customer.
func consentItems(e *testenv.Env, id string) []map[string]types.AttributeValue {
	e.TB.Helper()
	out, err := e.DB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(e.Config.Table),
		KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :p)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "CUST#" + id},
			":p": &types.AttributeValueMemberS{Value: "CONSENT#"}}})
	if err != nil {
		e.TB.Fatal(err)
	}
	return out.Items
}

func TestConsentRetainedOnErase(t *testing.T) {
	for _, c := range []struct {
		retain              crm.ConsentRetention
		grants, withdrawals int
	}{{crm.RetainNoConsents, 0, 0}, {crm.RetainWithdrawals, 0, 1}, {crm.RetainAllConsents, 3, 1}} {
		t.Run(string(c.retain), func(t *testing.T) {
			e := testenv.New(t, testenv.WithConfig(directWrites), testenv.WithConfig(func(cfg *app.Config) { cfg.Retention.ConsentOnErase = c.retain }))
			admin := e.Token("root", "admin")
			id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "consent": map[string]any{"reminders": true, "marketing": true}})
			patch(e, admin, "/customers/"+id, "", map[string]any{"consent": map[string]any{"reminders": true, "marketing": false}})
			patch(e, admin, "/customers/"+id, "", map[string]any{"consent": map[string]any{"reminders": true, "marketing": true}})
			if n := len(consentItems(e, id)); n != 4 {
				t.Fatalf("%d records before the erasure, want 4", n)
			}
			if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: admin}); r.Status != http.StatusNoContent {
				t.Fatalf("erase: %d %s", r.Status, r.Body)
			}
			grants, withdrawals := 0, 0
			for _, it := range consentItems(e, id) {
				if _, ok := it["expiresAt"]; !ok {
					t.Error("a kept record does not expire with the tombstone")
				}
				if it["granted"].(*types.AttributeValueMemberBOOL).Value {
					grants++
				} else {
					withdrawals++
				}
			}
			if grants != c.grants || withdrawals != c.withdrawals {
				t.Errorf("kept %d grants and %d withdrawals, want %d and %d", grants, withdrawals, c.grants, c.withdrawals)
			}
		})
	}
}

type approval struct {
	ID         string   `json:"id"`
	Kind       string   `json:"kind"`
	CustomerID string   `json:"customerId"`
	Status     string   `json:"status"`
	Fields     []string `json:"fields"`
	DecidedBy  string   `json:"decidedBy"`
}

// requested checks a 202 and returns the approval id it names.
func requested(tb testing.TB, r testenv.Response) string {
	tb.Helper()
	m := r.Map(tb)
	if r.Status != http.StatusAccepted || m["status"] != "pending" || m["approvalId"] == "" || len(m) != 2 {
		tb.Fatalf("want 202 {approvalId, status: pending}, got %d %s", r.Status, r.Body)
	}
	id := m["approvalId"].(string)
	if r.Header.Get("Location") != "/approvals/"+id {
		tb.Errorf("Location %q", r.Header.Get("Location"))
	}
	return id
}

func approvals(e *testenv.Env, token, status string) []approval {
	e.TB.Helper()
	r := get(e, token, "/approvals?status="+status)
	if r.Status != http.StatusOK {
		e.TB.Fatalf("approvals: %d %s", r.Status, r.Body)
	}
	var l struct{ Items []approval }
	r.JSON(e.TB, &l)
	return l.Items
}

func findApproval(aps []approval, id string) (approval, bool) {
	for _, a := range aps {
		if a.ID == id {
			return a, true
		}
	}
	return approval{}, false
}

// approvalItem reads an approval as stored, as a stream reader sees it.
func approvalItem(e *testenv.Env, id string) map[string]types.AttributeValue {
	e.TB.Helper()
	out, err := e.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.Config.Table),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "APPROVAL#" + id}, "SK": &types.AttributeValueMemberS{Value: "APPROVAL"}}})
	if err != nil || out.Item == nil {
		e.TB.Fatalf("approval item: %v", err)
	}
	return out.Item
}

func auditActions(e *testenv.Env, entityID string) []string {
	e.TB.Helper()
	var l struct {
		Items []struct {
			Action        string
			ChangedFields []string
		}
	}
	get(e, e.Token("aud", "auditor"), "/audit?entityId="+entityID+"&limit=200").JSON(e.TB, &l)
	var out []string
	for _, it := range l.Items {
		out = append(out, it.Action+":"+strings.Join(it.ChangedFields, ","))
	}
	return out
}

func TestFourEyesBilling(t *testing.T) {
	e := testenv.New(t)
	root, root2, fin := e.Token("root", "admin"), e.Token("root2", "admin"), e.Token("fin", "finance")
	id := mustCreate(e, root, map[string]any{"name": "Li Wei", "phone": phoneRaw, "billing": map[string]any{"bankAccount": bank}})
	const newBank = "DE89370400440532013000"
	apID := requested(t, patch(e, root, "/customers/"+id, `"1"`, map[string]any{"billing": map[string]any{"bankAccount": newBank}, "company": "Acme"}))

	t.Run("NotAppliedWhilePending", func(t *testing.T) {
		m := get(e, root, "/customers/"+id).Map(t)
		if m["version"] != float64(1) || m["company"] != nil || m["billing"].(map[string]any)["bankAccount"] != bank {
			t.Errorf("the pending patch shows: %v", m)
		}
		it := approvalItem(e, apID)
		if it["status"].(*types.AttributeValueMemberS).Value != "pending" || it["sealed"] == nil {
			t.Errorf("stored: status %v, sealed %v", it["status"], it["sealed"] != nil)
		}
	})
	t.Run("Listed", func(t *testing.T) {
		r := get(e, fin, "/approvals?status=pending")
		if strings.Contains(string(r.Body), newBank) || strings.Contains(string(r.Body), bank) {
			t.Error("the list shows the billing values")
		}
		ap, ok := findApproval(approvals(e, fin, "pending"), apID)
		if !ok || ap.Kind != "billing" || ap.CustomerID != id || !slices.Equal(ap.Fields, []string{"company", "billing"}) {
			t.Errorf("pending list: %+v (found %t)", ap, ok)
		}
	})
	t.Run("ErrSelfApproval", func(t *testing.T) {
		if r := post(e, root, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusForbidden {
			t.Errorf("self-approval: %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrRole", func(t *testing.T) {
		if r := post(e, e.Token("svc", "service"), "/approvals/"+apID+"/approve", nil); r.Status != http.StatusForbidden {
			t.Errorf("service: %d", r.Status)
		}
	})
	t.Run("Approved", func(t *testing.T) {
		r := post(e, fin, "/approvals/"+apID+"/approve", nil)
		m := r.Map(t)
		if r.Status != 200 || r.Header.Get("ETag") != `"2"` || m["company"] != "Acme" || m["billing"].(map[string]any)["bankAccount"] != newBank {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
		it := approvalItem(e, apID)
		if it["status"].(*types.AttributeValueMemberS).Value != "approved" || it["sealed"] != nil || it["edk"] != nil {
			t.Errorf("decided request still holds its body, or is not approved: %v", it["status"])
		}
		if it["decidedBy"].(*types.AttributeValueMemberS).Value != "fin" {
			t.Errorf("decidedBy %v", it["decidedBy"])
		}
	})
	t.Run("ErrDecidedTwice", func(t *testing.T) {
		for _, path := range []string{"/approve", "/reject"} {
			if r := post(e, root2, "/approvals/"+apID+path, nil); r.Status != http.StatusConflict {
				t.Errorf("%s again: %d", path, r.Status)
			}
		}
		if m := get(e, root, "/customers/"+id).Map(t); m["version"] != float64(2) {
			t.Errorf("deciding again changed the customer: version %v", m["version"])
		}
	})
	t.Run("Audited", func(t *testing.T) {
		if got := auditActions(e, apID); !slices.Contains(got, "approval.requested:company,billing") {
			t.Errorf("approval's trail: %v", got)
		}
		if got := auditActions(e, id); !slices.Contains(got, "approval.approved:company,billing") {
			t.Errorf("customer's trail: %v", got)
		}
	})
	t.Run("ErrStale", func(t *testing.T) {
		apID := requested(t, patch(e, fin, "/customers/"+id, "", map[string]any{"billing": map[string]any{"taxId": "91110000MA02"}}))
		if r := patch(e, root, "/customers/"+id, "", map[string]any{"segment": "retail"}); r.Status != 200 {
			t.Fatalf("unrelated edit: %d", r.Status)
		}
		if r := post(e, root, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusConflict {
			t.Fatalf("stale approval: %d %s", r.Status, r.Body)
		}
		if _, ok := findApproval(approvals(e, root, "stale"), apID); !ok {
			t.Error("not closed as stale")
		}
		if m := get(e, root, "/customers/"+id).Map(t); m["billing"].(map[string]any)["taxId"] != nil {
			t.Error("a stale request was applied")
		}
		if got := auditActions(e, apID); !slices.Contains(got, "approval.stale:billing") {
			t.Errorf("trail: %v", got)
		}
		if r := post(e, root2, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusConflict {
			t.Errorf("approving a stale request: %d", r.Status)
		}
	})
	t.Run("Rejected", func(t *testing.T) {
		apID := requested(t, patch(e, root, "/customers/"+id, "", map[string]any{"billing": nil}))
		r := post(e, fin, "/approvals/"+apID+"/reject", map[string]any{})
		var ap approval
		r.JSON(t, &ap)
		if r.Status != 200 || ap.Status != "rejected" || ap.DecidedBy != "fin" {
			t.Fatalf("reject: %d %s", r.Status, r.Body)
		}
		if m := get(e, root, "/customers/"+id).Map(t); m["billing"] == nil {
			t.Error("a rejected request was applied")
		}
		if r := post(e, root2, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusConflict {
			t.Errorf("approving a rejected request: %d", r.Status)
		}
		if got := auditActions(e, apID); !slices.Contains(got, "approval.rejected:billing") {
			t.Errorf("trail: %v", got)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		apID := requested(t, patch(e, root, "/customers/"+id, "", map[string]any{"billing": map[string]any{"taxId": "91110000MA03"}}))
		cs := e.Services.API.Customers
		cs.Now = func() time.Time { return time.Now().Add(crm.DefaultFourEyesTTL + time.Minute) }
		defer func() { cs.Now = time.Now }()
		if _, ok := findApproval(approvals(e, root, "pending"), apID); ok {
			t.Error("an expired request is listed as pending")
		}
		if r := post(e, root2, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusConflict {
			t.Errorf("approving an expired request: %d", r.Status)
		}
		if _, ok := findApproval(approvals(e, root, "expired"), apID); !ok {
			t.Error("not closed as expired")
		}
		if it := approvalItem(e, apID); it["sealed"] != nil {
			t.Error("an expired request still holds its body")
		}
		if got := auditActions(e, apID); !slices.Contains(got, "approval.expired:billing") {
			t.Errorf("trail: %v", got)
		}
	})
}

func TestFourEyesErasure(t *testing.T) {
	e := testenv.New(t)
	root, root2, fin := e.Token("root", "admin"), e.Token("root2", "admin"), e.Token("fin", "finance")
	id := mustCreate(e, root, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	apID := requested(t, e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: root}))
	if r := get(e, root, "/customers/"+id); r.Status != 200 {
		t.Fatalf("erased before approval: %d", r.Status)
	}
	if _, ok := findApproval(approvals(e, fin, "pending"), apID); ok {
		t.Error("finance is shown an erasure it may not decide")
	}
	if r := post(e, fin, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusForbidden {
		t.Errorf("finance approving an erasure: %d", r.Status)
	}
	if r := post(e, root, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusForbidden {
		t.Errorf("self-approval: %d", r.Status)
	}
	if r := post(e, root2, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	if r := get(e, root, "/customers/"+id); r.Status != http.StatusGone {
		t.Errorf("after approval: %d, want 410", r.Status)
	}
	if r := post(e, root2, "/approvals/"+apID+"/approve", nil); r.Status != http.StatusConflict {
		t.Errorf("approving twice: %d", r.Status)
	}
	// Erasing the erased completes it at once: nothing to approve.
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: root}); r.Status != http.StatusNoContent {
		t.Errorf("erasing again: %d", r.Status)
	}
}

func TestFourEyesOff(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	root := e.Token("root", "admin")
	id := mustCreate(e, root, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	if r := patch(e, root, "/customers/"+id, "", map[string]any{"billing": map[string]any{"bankAccount": bank}}); r.Status != 200 {
		t.Errorf("billing patch: %d", r.Status)
	}
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: root}); r.Status != http.StatusNoContent {
		t.Errorf("erase: %d", r.Status)
	}
	if aps := approvals(e, root, "pending"); len(aps) != 0 {
		t.Errorf("requests filed with four-eyes off: %+v", aps)
	}
}
