package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/dynamo"
	"github.com/clientele-crm/clientele/internal/envelope"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func auditEntries(t *testing.T, e *testenv.Env, query string) []crm.AuditEntry {
	t.Helper()
	var l struct{ Items []crm.AuditEntry }
	r := get(e, e.Token("aud", "auditor"), "/audit?"+query)
	if r.Status != 200 {
		t.Fatalf("audit %s: %d %s", query, r.Status, r.Body)
	}
	r.JSON(t, &l)
	return l.Items
}

func TestAuditTrail(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, alice, sam, fin := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("sam", "service"), e.Token("fin", "finance")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
	patch(e, alice, "/customers/"+id, "", map[string]any{"company": "Acme", "email": "wang@example.org"})
	post(e, alice, "/customers/"+id+"/verify", nil)
	post(e, alice, "/customers/"+id+"/interactions", map[string]any{"kind": "call", "at": "2026-11-01T09:00:00Z", "summary": "Renewal"})
	patch(e, admin, "/customers/"+id, "", map[string]any{"billing": map[string]any{"bankAccount": bank}, "nationalId": nationalID})
	get(e, fin, "/customers/"+id)                                                                   // sensitive read
	patch(e, alice, "/customers/"+id, "", map[string]any{"billing": map[string]any{"taxId": "X1"}}) // denied
	k := fileComplaint(e, alice, id, "low")
	transition(e, sam, k.ID, map[string]any{"to": "in_progress"})

	entries := auditEntries(t, e, "entityId="+id)
	var got []string
	for _, en := range slices.Backward(entries) {
		line := en.Action + "/" + en.Actor + "/" + en.Outcome + "/" + strings.Join(en.ChangedFields, ",")
		if len(en.Disclosed) > 0 {
			line += " shown:" + strings.Join(en.Disclosed, ",")
		}
		got = append(got, line)
	}
	want := []string{
		"customer.create/alice/success/name,phone,email,ownerId",
		"customer.update/alice/success/email,company",
		"customer.verify/alice/success/verifiedAt",
		"customer.interaction/alice/success/interactions",
		// The PATCH's answer shows them in full: its own entry says so.
		"customer.update/root/success/nationalId,billing shown:billing,nationalId",
		"customer.read_sensitive/fin/success/billing,nationalId",
		"PATCH /customers/{id}/alice/denied/",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("trail of the customer\n got %q\nwant %q", got, want)
	}
	for _, en := range entries {
		if en.RequestID == "" || en.Hash == "" || len(en.Roles) == 0 || en.At.IsZero() {
			t.Errorf("entry %+v lacks request id, hash, roles or time", en)
		}
	}
	if ks := auditEntries(t, e, "entityId="+k.ID); len(ks) != 2 || ks[0].Action != "complaint.in_progress" || ks[1].Action != "complaint.create" {
		t.Errorf("complaint trail %+v", ks)
	}
	if by := auditEntries(t, e, "actor=sam"); len(by) != 1 || by[0].EntityID != k.ID {
		t.Errorf("sam's trail %+v", by)
	}
	if all := auditEntries(t, e, ""); len(all) != 9 {
		t.Errorf("%d entries in the last week, want 9", len(all))
	}
	if none := auditEntries(t, e, "to=2020-01-01T00:00:00Z&from=2019-12-01T00:00:00Z"); len(none) != 0 {
		t.Errorf("%d entries in 2019", len(none))
	}
	t.Run("Paged", func(t *testing.T) {
		var ids []string
		for cursor := ""; ; {
			var l struct {
				Items      []crm.AuditEntry
				NextCursor string
			}
			get(e, admin, "/audit?limit=4&cursor="+cursor).JSON(t, &l)
			for _, en := range l.Items {
				ids = append(ids, en.Hash)
			}
			if cursor = l.NextCursor; cursor == "" {
				break
			}
		}
		if len(ids) != 9 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 9 {
			t.Fatalf("paging returned %d entries", len(ids))
		}
	})
	t.Run("NoPersonalData", func(t *testing.T) {
		raw, _ := json.Marshal(auditEntries(t, e, ""))
		for _, s := range []string{"Li Wei", phoneE164, emailNorm, "wang@example.org", bank, nationalID, "Acme", "Renewal"} {
			if strings.Contains(string(raw), s) {
				t.Errorf("the audit trail holds a value of personal data")
			}
		}
	})
	t.Run("ErrOnlyAdminAndAuditor", func(t *testing.T) {
		if r := get(e, alice, "/audit"); r.Status != 403 {
			t.Fatalf("status %d", r.Status)
		}
		if d := auditEntries(t, e, "actor=alice"); d[0].Action != "GET /audit" || d[0].Outcome != crm.OutcomeDenied {
			t.Fatalf("the denied read of the audit log was not recorded: %+v", d[0])
		}
	})
	t.Run("ErrBadFilters", func(t *testing.T) {
		for _, q := range []string{"from=yesterday", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from=2020-01-01T00:00:00Z", "cursor=zzz", "user=x"} {
			if r := get(e, admin, "/audit?"+q); r.Status != 400 {
				t.Errorf("%s: %d", q, r.Status)
			}
		}
	})
	t.Run("ChainsVerify", func(t *testing.T) {
		rep, err := e.Services.Table.AuditLog().VerifyAudit(context.Background(), e.Services.AuditKey)
		if err != nil || len(rep.Breaks) != 0 || rep.Entries != 10 {
			t.Fatalf("verify: %v %v, %d entries", rep.Breaks, err, rep.Entries)
		}
	})
}

// auditItems reads every entry item of the audit table, raw, by sequence.
func auditItems(t *testing.T, e *testenv.Env) []map[string]types.AttributeValue {
	t.Helper()
	out, err := e.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.Config.AuditTable)})
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]types.AttributeValue
	for _, it := range out.Items {
		if strings.HasPrefix(it["SK"].(*types.AttributeValueMemberS).Value, "E#") {
			entries = append(entries, it)
		}
	}
	return entries
}

func TestAuditTamperIsDetected(t *testing.T) {
	for _, tt := range []struct {
		name   string
		tamper func(t *testing.T, e *testenv.Env, chain []map[string]types.AttributeValue)
		reason string
	}{
		{"EditedEntry", func(t *testing.T, e *testenv.Env, chain []map[string]types.AttributeValue) {
			edited := maps.Clone(chain[1])
			edited["actor"] = &types.AttributeValueMemberS{Value: "mallory"}
			put(t, e, edited)
		}, "content does not match its hash"},
		{"DeletedEntry", func(t *testing.T, e *testenv.Env, chain []map[string]types.AttributeValue) {
			del(t, e, chain[1])
		}, "entry missing"},
		{"ReorderedEntries", func(t *testing.T, e *testenv.Env, chain []map[string]types.AttributeValue) {
			// Swap the positions of entries 2 and 3, keeping each one's
			// own hash, as someone rewriting history would.
			a, b := maps.Clone(chain[1]), maps.Clone(chain[2])
			del(t, e, chain[1])
			del(t, e, chain[2])
			a["seq"], b["seq"] = chain[2]["seq"], chain[1]["seq"]
			a["SK"] = &types.AttributeValueMemberS{Value: "E#000000000003#" + a["hash"].(*types.AttributeValueMemberS).Value}
			b["SK"] = &types.AttributeValueMemberS{Value: "E#000000000002#" + b["hash"].(*types.AttributeValueMemberS).Value}
			put(t, e, a)
			put(t, e, b)
		}, "does not follow the previous entry"},
		{"ForgedEntryBesideTheReal", func(t *testing.T, e *testenv.Env, chain []map[string]types.AttributeValue) {
			// What a writer allowed only to put can do: add, not replace.
			forged := maps.Clone(chain[1])
			forged["SK"] = &types.AttributeValueMemberS{Value: "E#000000000002#0000forged"}
			forged["action"] = &types.AttributeValueMemberS{Value: "customer.create"}
			put(t, e, forged)
		}, "two entries hold this sequence number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := testenv.New(t)
			admin := e.Token("root", "admin")
			id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
			for _, c := range []string{"A", "B", "C"} {
				patch(e, admin, "/customers/"+id, "", map[string]any{"company": c})
			}
			chain := auditItems(t, e)
			slices.SortFunc(chain, func(a, b map[string]types.AttributeValue) int {
				return strings.Compare(a["SK"].(*types.AttributeValueMemberS).Value, b["SK"].(*types.AttributeValueMemberS).Value)
			})
			if len(chain) != 4 {
				t.Fatalf("%d entries, want 4 in one chain", len(chain))
			}
			if rep, _ := e.Services.Table.AuditLog().VerifyAudit(context.Background(), e.Services.AuditKey); len(rep.Breaks) != 0 {
				t.Fatalf("intact chain reported broken: %v", rep.Breaks)
			}
			tt.tamper(t, e, chain)
			rep, err := e.Services.Table.AuditLog().VerifyAudit(context.Background(), e.Services.AuditKey)
			if err != nil || len(rep.Breaks) != 1 || rep.Breaks[0].Seq != 2 || rep.Breaks[0].Reason != tt.reason {
				t.Fatalf("got %v (%v), want a break at entry 2: %s", rep.Breaks, err, tt.reason)
			}
		})
	}
}

func put(t *testing.T, e *testenv.Env, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.Config.AuditTable), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, e *testenv.Env, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.DB.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(e.Config.AuditTable),
		Key: map[string]types.AttributeValue{"PK": item["PK"], "SK": item["SK"]}}); err != nil {
		t.Fatal(err)
	}
}

func TestErasure(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, alice, sam := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("sam", "service")
	r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: admin, Body: fullBody, Header: map[string]string{"Idempotency-Key": "erase-me"}})
	id := r.Map(t)["id"].(string)
	post(e, alice, "/customers/"+id+"/interactions", map[string]any{"kind": "meeting", "at": "2026-11-01T09:00:00Z", "summary": "Met at " + street, "followUpAt": "2026-11-08T09:00:00Z"})
	k := fileComplaint(e, alice, id, "medium")
	post(e, sam, "/complaints/"+k.ID+"/notes", map[string]any{"note": "Customer Li Wei called back"})
	other := mustCreate(e, alice, map[string]any{"name": "Wang Fang", "phone": "13900139000"})

	t.Run("ErrNotAdmin", func(t *testing.T) {
		if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: alice}); r.Status != 403 {
			t.Fatalf("status %d", r.Status)
		}
	})
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: admin}); r.Status != http.StatusNoContent {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	t.Run("ReadsAreGone", func(t *testing.T) {
		for _, p := range []string{"/customers/" + id, "/customers/" + id + "/export"} {
			if r := get(e, admin, p); r.Status != http.StatusGone {
				t.Errorf("%s: %d", p, r.Status)
			}
		}
		var l struct{ Items []map[string]any }
		get(e, admin, "/customers?phone="+phoneE164).JSON(t, &l)
		if len(l.Items) != 0 {
			t.Errorf("the erased customer is still found by phone")
		}
		get(e, admin, "/customers").JSON(t, &l)
		if len(l.Items) != 1 || l.Items[0]["id"] != other {
			t.Errorf("list after erasure: %v", l.Items)
		}
	})
	t.Run("TableHoldsNoPersonalData", func(t *testing.T) {
		raw, _ := json.Marshal(scanAll(t, e))
		dump := string(raw)
		for _, s := range []string{"Li Wei", phoneE164, emailNorm, street, "Jianguo", nationalID, bank} {
			if strings.Contains(dump, s) {
				t.Errorf("a value of the erased customer remains in the table")
			}
		}
		// Ciphertexts of the customer's are gone too, not just unreadable.
		var items []map[string]any
		_ = json.Unmarshal(raw, &items)
		for _, it := range scanAll(t, e) {
			pk := it["PK"].(*types.AttributeValueMemberS).Value
			if _, sealed := it["sealed"]; sealed && (strings.Contains(pk, id) || strings.Contains(pk, k.ID)) {
				t.Errorf("item %s still holds sealed data", pk)
			}
			if strings.HasPrefix(pk, "IDEM#") {
				t.Errorf("an idempotency record of the erased customer remains")
			}
		}
	})
	t.Run("TombstoneAndTrailRemain", func(t *testing.T) {
		tomb := rawItem(t, e, "CUST#"+id, "PROFILE")
		if tomb["type"].(*types.AttributeValueMemberS).Value != "tombstone" || tomb["erasedBy"].(*types.AttributeValueMemberS).Value != "root" {
			t.Fatalf("tombstone %v", tomb)
		}
		trail := auditEntries(t, e, "entityId="+id)
		if trail[0].Action != "customer.erase" || len(trail) < 4 {
			t.Fatalf("trail %+v", trail)
		}
		var c complaint
		get(e, sam, "/complaints/"+k.ID).JSON(t, &c)
		if c.Severity != "medium" || len(c.Timeline) != 3 {
			t.Fatalf("the complaint's facts should stay: %+v", c)
		}
	})
	t.Run("ErasingAgainCompletes", func(t *testing.T) {
		if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: admin}); r.Status != http.StatusNoContent {
			t.Fatalf("status %d", r.Status)
		}
		if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/c_neverexisted", Token: admin}); r.Status != 404 {
			t.Fatalf("unknown: %d", r.Status)
		}
	})
	t.Run("ErrComplaintAboutErased", func(t *testing.T) {
		r := post(e, alice, "/complaints", map[string]any{"customerId": id, "channel": "web", "category": "billing", "severity": "low", "subject": "x", "description": "y"})
		if r.Status != 404 && r.Status != 410 {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("AuditChainsIntact", func(t *testing.T) {
		if rep, err := e.Services.Table.AuditLog().VerifyAudit(context.Background(), e.Services.AuditKey); err != nil || len(rep.Breaks) != 0 {
			t.Fatalf("%v %v", rep.Breaks, err)
		}
	})
}

func TestExport(t *testing.T) {
	e := testenv.New(t)
	admin, alice := e.Token("root", "admin"), e.Token("alice", "sales")
	id := mustCreate(e, admin, fullBody)
	post(e, alice, "/customers/"+id+"/interactions", map[string]any{"kind": "call", "at": "2026-11-01T09:00:00Z", "summary": "Renewal call"})
	k := fileComplaint(e, alice, id, "high")
	r := get(e, admin, "/customers/"+id+"/export")
	var x struct {
		Customer     map[string]any
		Interactions []crm.Interaction
		Complaints   []complaint
	}
	r.JSON(t, &x)
	if r.Status != 200 || x.Customer["nationalId"] != nationalID || x.Customer["billing"].(map[string]any)["bankAccount"] != bank ||
		len(x.Interactions) != 1 || x.Interactions[0].Summary != "Renewal call" || len(x.Complaints) != 1 || x.Complaints[0].ID != k.ID || len(x.Complaints[0].Timeline) != 2 {
		t.Fatalf("export %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("an export may be cached")
	}
	if trail := auditEntries(t, e, "entityId="+id); trail[0].Action != "customer.export" || trail[0].Actor != "root" {
		t.Fatalf("the export was not audited: %+v", trail[0])
	}
	if r := get(e, e.Token("aud", "auditor"), "/customers/"+id+"/export"); r.Status != 403 {
		t.Fatalf("auditor export: %d", r.Status)
	}
}

func TestListsHideBillingEvenFromFinance(t *testing.T) {
	e := testenv.New(t)
	mustCreate(e, e.Token("root", "admin"), fullBody)
	for _, role := range []string{"admin", "finance"} {
		var l struct{ Items []map[string]any }
		get(e, e.Token("u", role), "/customers").JSON(t, &l)
		if len(l.Items) != 1 || l.Items[0]["billing"] != nil || l.Items[0]["nationalId"] == nationalID {
			t.Errorf("%s list shows billing or the full national ID: %v", role, l.Items)
		}
	}
}

func TestRetentionFilteredOnRead(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin := e.Token("root", "admin")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	post(e, admin, "/customers/"+id+"/interactions", map[string]any{"kind": "call", "at": time.Now().UTC().Format(time.RFC3339), "summary": "x"})
	k := complaintIn(e, admin, id, "closed")
	open := fileComplaint(e, admin, id, "low")
	gone := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + gone, Token: admin})

	// The same table read later than every retention period, before TTL
	// (which DynamoDB Local never runs) has removed anything.
	later := time.Now().Add(8 * 365 * 24 * time.Hour)
	kr, _ := e.Keyring.(*envelope.LocalKeyring)
	cfg := e.StoreConfig(e.DB)
	cfg.Keyring, cfg.Retention, cfg.Now = kr, e.Config.Retention, func() time.Time { return later }
	table, err := dynamo.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if its, _, err := table.Customers().ListInteractions(ctx, id, crm.Page{Limit: 50}); err != nil || len(its) != 0 {
		t.Errorf("expired interactions still read: %d (%v)", len(its), err)
	}
	if _, err := table.Complaints().GetComplaint(ctx, k); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("an expired closed complaint still reads: %v", err)
	}
	if _, err := table.Complaints().GetComplaint(ctx, open.ID); err != nil {
		t.Errorf("an open complaint expired: %v", err)
	}
	if cs, _, err := table.Complaints().ListComplaints(ctx, crm.ComplaintFilter{CustomerID: id}, crm.Page{Limit: 50}); err != nil || len(cs) != 1 {
		t.Errorf("list after retention: %d (%v)", len(cs), err)
	}
	if _, err := table.Customers().GetCustomer(ctx, gone); crm.ErrorCode(err) != crm.ENOTFOUND {
		t.Errorf("an expired tombstone reads as %v, want not found", err)
	}
	if _, err := table.Customers().GetCustomer(ctx, id); err != nil {
		t.Errorf("a live customer expired: %v", err)
	}
	for _, key := range [][2]string{{"COMP#" + k, "COMPLAINT"}, {"COMP#" + k, "TL#000001"}, {"CUST#" + gone, "PROFILE"}} {
		if _, ok := rawItem(t, e, key[0], key[1])["expiresAt"]; !ok {
			t.Errorf("%s %s has no TTL attribute for DynamoDB to act on", key[0], key[1])
		}
	}
}

// TestAuditDigestDetectsRemovals covers what the chains alone cannot see:
// an entity's whole chain deleted, the last entries of one removed, and
// the digests themselves tampered with.
func TestAuditDigestDetectsRemovals(t *testing.T) {
	setup := func(t *testing.T) (*testenv.Env, string, string) {
		e := testenv.New(t)
		admin := e.Token("root", "admin")
		a := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})
		b := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
		for _, c := range []string{"A", "B"} {
			patch(e, admin, "/customers/"+a, "", map[string]any{"company": c})
		}
		if _, err := e.Services.Table.AuditLog().WriteDigest(context.Background(), e.Services.AuditKey, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		return e, a, b
	}
	verify := func(t *testing.T, e *testenv.Env) dynamo.VerifyReport {
		t.Helper()
		rep, err := e.Services.Table.AuditLog().VerifyAudit(context.Background(), e.Services.AuditKey)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	chainItems := func(t *testing.T, e *testenv.Env, pk string) []map[string]types.AttributeValue {
		out, err := e.DB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(e.Config.AuditTable),
			KeyConditionExpression:    aws.String("PK = :pk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Items
	}
	wantBreak := func(t *testing.T, rep dynamo.VerifyReport, chain string, seq int64, reason string) {
		t.Helper()
		if len(rep.Breaks) != 1 || rep.Breaks[0].Chain != chain || rep.Breaks[0].Seq != seq || rep.Breaks[0].Reason != reason {
			t.Fatalf("got %v, want %s entry %d: %s", rep.Breaks, chain, seq, reason)
		}
	}
	t.Run("IntactWithDigests", func(t *testing.T) {
		e, _, _ := setup(t)
		patch(e, e.Token("root", "admin"), "/customers/"+mustCreate(e, e.Token("root", "admin"), map[string]any{"name": "Zhao Lei", "phone": "13700137000"}), "", map[string]any{"company": "C"})
		if _, err := e.Services.Table.AuditLog().WriteDigest(context.Background(), e.Services.AuditKey, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		rep := verify(t, e)
		if len(rep.Breaks) != 0 || rep.Digests != 2 || rep.Chains != 3 || rep.Entries != 6 || rep.Unsigned != 0 {
			t.Fatalf("%+v", rep)
		}
	})
	t.Run("DeletedEntityChain", func(t *testing.T) {
		e, _, b := setup(t)
		for _, it := range chainItems(t, e, "CHAIN#customer/"+b) {
			del(t, e, it)
		}
		wantBreak(t, verify(t, e), "CHAIN#customer/"+b, 1, "chain missing: a digest lists it")
	})
	t.Run("TruncatedTail", func(t *testing.T) {
		e, a, _ := setup(t)
		for _, it := range chainItems(t, e, "CHAIN#customer/"+a) {
			if sk := it["SK"].(*types.AttributeValueMemberS).Value; strings.HasPrefix(sk, "E#000000000003") || sk == "S#000000000003" {
				del(t, e, it)
			}
		}
		wantBreak(t, verify(t, e), "CHAIN#customer/"+a, 3, "chain truncated: a digest lists this entry")
	})
	t.Run("RewrittenChain", func(t *testing.T) {
		// Someone able to rewrite a whole chain, hashes and all, still
		// cannot make it match the signed head.
		e, _, b := setup(t)
		items := chainItems(t, e, "CHAIN#customer/"+b)
		for _, it := range items {
			if strings.HasPrefix(it["SK"].(*types.AttributeValueMemberS).Value, "E#") {
				var entry crm.AuditEntry
				if err := attributevalue.UnmarshalMapWithOptions(it, &entry, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
					t.Fatal(err)
				}
				entry.Actor, entry.Hash = "mallory", ""
				canonical, _ := json.Marshal(entry)
				sum := sha256.Sum256(canonical)
				edited := maps.Clone(it)
				edited["actor"] = &types.AttributeValueMemberS{Value: "mallory"}
				edited["hash"] = &types.AttributeValueMemberS{Value: hex.EncodeToString(sum[:])}
				edited["SK"] = &types.AttributeValueMemberS{Value: "E#000000000001#" + hex.EncodeToString(sum[:])}
				del(t, e, it)
				put(t, e, edited)
			}
		}
		wantBreak(t, verify(t, e), "CHAIN#customer/"+b, 1, "entry differs from the one a digest lists")
	})
	t.Run("ForgedDigest", func(t *testing.T) {
		e, _, _ := setup(t)
		d := chainItems(t, e, "DIGEST")[0]
		body := d["body"].(*types.AttributeValueMemberS).Value
		d["body"] = &types.AttributeValueMemberS{Value: strings.Replace(body, `"heads":2`, `"heads":1`, 1)}
		put(t, e, d)
		wantBreak(t, verify(t, e), "digest", 1, "signature does not verify")
	})
	t.Run("DeletedDigest", func(t *testing.T) {
		e, _, _ := setup(t)
		first := chainItems(t, e, "DIGEST")[0]
		if _, err := e.Services.Table.AuditLog().WriteDigest(context.Background(), e.Services.AuditKey, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		del(t, e, first)
		wantBreak(t, verify(t, e), "digest", 1, "digest missing")
	})
	t.Run("SixteenChainFormVerifies", func(t *testing.T) {
		// A stack upgraded from the 16-shard log keeps its old chains,
		// verified as they are.
		e, _, _ := setup(t)
		old := crm.AuditEntry{Shard: 3, Seq: 1, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "alice", Roles: []string{"sales"},
			Action: "customer.update", EntityType: "customer", EntityID: "c_old", ChangedFields: []string{"company"}, Outcome: crm.OutcomeSuccess}
		canonical, _ := json.Marshal(old)
		sum := sha256.Sum256(canonical)
		old.Hash = hex.EncodeToString(sum[:])
		item, err := attributevalue.MarshalMapWithOptions(old, func(o *attributevalue.EncoderOptions) { o.TagKey = "json" })
		if err != nil {
			t.Fatal(err)
		}
		item["PK"] = &types.AttributeValueMemberS{Value: "AUDIT#3"}
		item["SK"] = &types.AttributeValueMemberS{Value: "E#000000000001#" + old.Hash}
		delete(item, "chain")
		put(t, e, item)
		if rep := verify(t, e); len(rep.Breaks) != 0 || rep.Chains != 3 {
			t.Fatalf("%+v", rep)
		}
		item["actor"] = &types.AttributeValueMemberS{Value: "mallory"}
		put(t, e, item)
		wantBreak(t, verify(t, e), "AUDIT#3", 1, "content does not match its hash")
	})
}
