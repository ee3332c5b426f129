package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"testing"

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

var fullBody = map[string]any{
	"name": "Li Wei", "phone": phoneRaw, "email": emailRaw, "nationalId": nationalID, "ownerId": "alice",
	"address": map[string]any{"line1": street, "city": "Beijing", "postalCode": "100022", "country": "CN"},
	"billing": map[string]any{"bankAccount": bank, "taxId": "91110000MA01"},
}

func TestVisibilityThroughAPI(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, alice, finance, auditor := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("fin", "finance"), e.Token("aud", "auditor")
	id := mustCreate(e, admin, fullBody)
	path := "/customers/" + id

	t.Run("FinanceReadsBilling", func(t *testing.T) {
		m := get(e, finance, path).Map(t)
		if m["billing"].(map[string]any)["bankAccount"] != bank || m["nationalId"] != nationalID {
			t.Fatalf("got %v", m)
		}
	})
	t.Run("SalesSeesMaskedIDAndNoBilling", func(t *testing.T) {
		m := get(e, alice, path).Map(t)
		if m["billing"] != nil || m["nationalId"] != "••••••••4258" || m["phone"] != phoneE164 {
			t.Fatalf("got %v", m)
		}
	})
	t.Run("AuditorSeesContactsMasked", func(t *testing.T) {
		r := get(e, auditor, path)
		m := r.Map(t)
		addr := m["address"].(map[string]any)
		if m["phone"] != "••••••••8000" || m["email"] != "l•••@example.com" || addr["line1"] != "••••" || addr["city"] != "Beijing" || m["billing"] != nil {
			t.Fatalf("got %v", m)
		}
		for _, secret := range []string{phoneE164, emailNorm, street, nationalID, bank} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("auditor response holds a value it may not see")
			}
		}
	})
	t.Run("ErrSalesWritesBilling", func(t *testing.T) {
		r := patch(e, alice, path, "", map[string]any{"billing": map[string]any{"bankAccount": "DE89370400440532013000"}, "company": "Acme"})
		if got := fieldsOf(t, r); r.Status != http.StatusForbidden || len(got) != 1 || got[0] != "billing" {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
		m := get(e, admin, path).Map(t)
		if m["billing"].(map[string]any)["bankAccount"] != bank || m["version"] != float64(1) || m["company"] != nil {
			t.Fatalf("a refused write changed the customer: %v", m)
		}
	})
	t.Run("ErrMaskedValueWrittenBack", func(t *testing.T) {
		masked := get(e, alice, path).Map(t)["nationalId"]
		r := patch(e, alice, path, "", map[string]any{"nationalId": masked})
		if got := fieldsOf(t, r); r.Status != 400 || len(got) != 1 || got[0] != "nationalId" {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
	})
	t.Run("FinanceWritesBillingOnly", func(t *testing.T) {
		if r := patch(e, finance, path, "", map[string]any{"billing": map[string]any{"taxId": "91110000MA02"}}); r.Status != 200 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		if r := patch(e, finance, path, "", map[string]any{"company": "X"}); r.Status != 403 {
			t.Fatalf("finance changed a non-billing field: %d", r.Status)
		}
	})
}

// scanAll reads every item of the env's table, raw.
func scanAll(t *testing.T, e *testenv.Env) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(e.DB, &dynamodb.ScanInput{TableName: aws.String(e.Config.Table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

func TestRawScanHoldsNoPlaintext(t *testing.T) {
	e := testenv.New(t)
	admin, alice := e.Token("root", "admin"), e.Token("alice", "sales")
	key := map[string]string{"Idempotency-Key": "scan-1"}
	r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: admin, Body: fullBody, Header: key})
	e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: admin, Body: fullBody, Header: key})
	id := r.Map(t)["id"].(string)
	post(e, alice, "/customers/"+id+"/interactions", map[string]any{"kind": "call", "at": "2026-11-01T09:00:00Z", "summary": "Called about " + street})
	patch(e, admin, "/customers/"+id, "", map[string]any{"email": "wang.fang@example.org", "address": map[string]any{"line2": "Suite 1204"}})
	post(e, admin, "/customers/import", []map[string]any{{"name": "Zhao Lei", "phone": "13700137001", "email": "zhao.lei@example.net", "nationalId": "220102198001011234", "ownerId": "alice"}})
	get(e, alice, "/customers?phone=13700137001")

	items := scanAll(t, e)
	if len(items) < 8 {
		t.Fatalf("only %d items: the workload did not run", len(items))
	}
	raw, _ := json.Marshal(items)
	dump := string(raw)
	for _, secret := range []string{phoneE164, "13800138000", emailNorm, "wang.fang@example.org", "zhao.lei@example.net", "13700137001",
		nationalID, "220102198001011234", bank, street, "Jianguo", "Suite 1204", "100022", "91110000MA01"} {
		if strings.Contains(dump, secret) {
			t.Errorf("the table holds a plaintext value (%d chars) of the test data", len(secret))
		}
	}
}

// rawItem reads one item of the table; setItem writes it back.
func rawItem(t *testing.T, e *testenv.Env, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.DB.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(e.Config.Table), Key: map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil || out.Item == nil {
		t.Fatalf("get %s: %v", pk, err)
	}
	return out.Item
}

func setItem(t *testing.T, e *testenv.Env, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(e.Config.Table), Item: item}); err != nil {
		t.Fatal(err)
	}
}

func sealedField(item map[string]types.AttributeValue, field string) []byte {
	return item["sealed"].(*types.AttributeValueMemberM).Value[field].(*types.AttributeValueMemberB).Value
}

func withSealed(item map[string]types.AttributeValue, field string, v []byte) map[string]types.AttributeValue {
	out := maps.Clone(item)
	sealed := maps.Clone(item["sealed"].(*types.AttributeValueMemberM).Value)
	sealed[field] = &types.AttributeValueMemberB{Value: v}
	out["sealed"] = &types.AttributeValueMemberM{Value: sealed}
	return out
}

func TestTamperedCiphertextFailsClosed(t *testing.T) {
	admin := ""
	tests := []struct {
		name   string
		tamper func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue
	}{
		{"SwapBetweenItems", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
			out := withSealed(b, "phone", sealedField(a, "phone"))
			out["edk"] = a["edk"]
			return out
		}},
		{"SwapBetweenFields", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
			return withSealed(b, "phone", sealedField(b, "email"))
		}},
		{"FlippedByte", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
			ct := append([]byte(nil), sealedField(b, "email")...)
			ct[len(ct)-3] ^= 0x01
			return withSealed(b, "email", ct)
		}},
		{"RemovedDataKey", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
			out := maps.Clone(b)
			delete(out, "edk")
			return out
		}},
		{"OtherItemsDataKey", func(a, b map[string]types.AttributeValue) map[string]types.AttributeValue {
			out := maps.Clone(b)
			out["edk"] = a["edk"]
			return out
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Caching off: each item gets its own data key, as across
			// processes or after a key's age runs out.
			e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.Cache.Disabled = true }))
			admin = e.Token("root", "admin")
			a := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
			b := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "13900139000", "email": "wf@example.com"})
			setItem(t, e, tt.tamper(rawItem(t, e, "CUST#"+a, "PROFILE"), rawItem(t, e, "CUST#"+b, "PROFILE")))

			r := get(e, admin, "/customers/"+b)
			if r.Status != http.StatusInternalServerError || r.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(r.Body), "integrity") {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), phoneE164) || strings.Contains(string(r.Body), "13900139000") {
				t.Fatal("the error holds customer data")
			}
			// A list shows the rest, and the tampered item marked and
			// without its sealed fields.
			l := get(e, admin, "/customers")
			if l.Status != http.StatusOK || !strings.Contains(string(l.Body), `"unreadable":true`) || strings.Contains(string(l.Body), "13900139000") {
				t.Fatalf("a list including the tampered item answered %d %s", l.Status, l.Body)
			}
			if !strings.Contains(e.Logs.String(), `"code":"integrity"`) || strings.Contains(e.Logs.String(), "13900139000") {
				t.Fatal("the integrity failure was not logged, or was logged with data")
			}
		})
	}
}

func TestRotatedKeysStillOpen(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.Cache.MaxItems = 2 }))
	admin := e.Token("root", "admin")
	var ids []string
	for i := range 5 {
		ids = append(ids, mustCreate(e, admin, map[string]any{"name": "Customer", "phone": fmt.Sprintf("1380013800%d", i)}))
	}
	if err := e.Keyring.(*envelope.LocalKeyring).Rotate(); err != nil {
		t.Fatal(err)
	}
	// A new process, as after a deploy: sealed under the new key version.
	svc, err := app.Build(context.Background(), e.Config, everything.Function, app.Edges{DB: e.DB, Keyring: e.Keyring, Notifier: e.Notifier, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.API.Customers.Create(context.Background(), crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}, crm.CustomerInput{Name: "New", Phone: "13800138009"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, c.ID)
	for _, id := range ids {
		got, err := svc.Table.Customers().GetCustomer(context.Background(), id)
		if err != nil || got.Phone == "" {
			t.Fatalf("%s: %v", id, err)
		}
	}
	before := rawItem(t, e, "CUST#"+ids[0], "PROFILE")["edk"].(*types.AttributeValueMemberB).Value
	after := rawItem(t, e, "CUST#"+c.ID, "PROFILE")["edk"].(*types.AttributeValueMemberB).Value
	if string(before[:5]) == string(after[:5]) {
		t.Fatal("the new item was not sealed under the rotated key version")
	}
}

func TestKMSKeyring(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	const keyID = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	e := testenv.New(t, testenv.WithKeyring(envelope.NewKMSKeyring(envelope.KMSClient(fake.Client(t)), keyID)),
		testenv.WithConfig(func(c *app.Config) { c.Cache.Disabled = true }))
	admin := e.Token("root", "admin")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw})

	last := fake.Last()
	if last.KeyID != keyID || !maps.Equal(last.EncryptionContext, map[string]string{"table": "clientele-main", "entity": "customer", "purpose": "customer-fields"}) {
		t.Fatalf("KMS saw key %s context %v", last.KeyID, last.EncryptionContext)
	}
	if get(e, admin, "/customers/"+id).Status != 200 || fake.Calls(kmsfake.OpDecrypt) == 0 {
		t.Fatal("read did not go through KMS")
	}

	for _, tt := range []struct {
		name string
		fail func()
	}{
		{"Throttled", func() { fake.FailWith("ThrottlingException", 400) }},
		{"Denied", func() { fake.FailWith("AccessDeniedException", 400) }},
		{"InternalError", func() { fake.FailWith("KMSInternalException", 500) }},
		{"Down", fake.Down},
	} {
		t.Run("Err"+tt.name+"Is503", func(t *testing.T) {
			tt.fail()
			defer fake.Up()
			r := post(e, admin, "/customers", map[string]any{"name": "Wang Fang", "phone": "13900139000"})
			if r.Status != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			if g := get(e, admin, "/customers/"+id); g.Status != http.StatusServiceUnavailable {
				t.Fatalf("read with KMS failing: %d", g.Status)
			}
			fake.Up()
			var l struct{ Items []any }
			get(e, admin, "/customers").JSON(t, &l)
			if len(l.Items) != 1 {
				t.Fatalf("%d customers after a refused create, want 1", len(l.Items))
			}
		})
	}
}

// TestUnreadableItemDoesNotTakeListsDown: a customer whose sealed fields
// fail their integrity check is shown in lists without them, marked, while
// reading it alone still fails closed; an admin can erase it, and its
// phone is then free for a new customer.
func TestUnreadableItemDoesNotTakeListsDown(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin := e.Token("root", "admin")
	bad := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
	good := mustCreate(e, admin, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	item := rawItem(t, e, "CUST#"+bad, "PROFILE")
	ct := append([]byte(nil), sealedField(item, "email")...)
	ct[len(ct)-3] ^= 0x01
	setItem(t, e, withSealed(item, "email", ct))

	var l struct{ Items []map[string]any }
	r := get(e, admin, "/customers")
	if r.Status != http.StatusOK {
		t.Fatalf("list with an unreadable item: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &l)
	marked := map[string]bool{}
	for _, c := range l.Items {
		marked[c["id"].(string)] = c["unreadable"] == true
		if c["id"] == bad && (c["phone"] != nil || c["email"] != nil) {
			t.Errorf("the unreadable item shows sealed fields: %v", c)
		}
	}
	if len(l.Items) != 2 || !marked[bad] || marked[good] {
		t.Errorf("list %v", marked)
	}
	if r := get(e, admin, "/customers/"+bad); r.Status != http.StatusInternalServerError {
		t.Errorf("reading it alone: %d, want the integrity failure", r.Status)
	}
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + bad, Token: admin}); r.Status != http.StatusNoContent {
		t.Fatalf("erasing it: %d %s", r.Status, r.Body)
	}
	if r := post(e, admin, "/customers", map[string]any{"name": "New", "phone": phoneRaw}); r.Status != http.StatusCreated {
		t.Errorf("its phone after erasure: %d %s", r.Status, r.Body)
	}
}
