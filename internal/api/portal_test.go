package api_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

func portalLink(e *testenv.Env, token, customerID string) (path string) {
	e.TB.Helper()
	r := post(e, token, "/customers/"+customerID+"/portal-links", nil)
	if r.Status != http.StatusCreated {
		e.TB.Fatalf("portal link: %d %s", r.Status, r.Body)
	}
	m := r.Map(e.TB)
	exp, _ := time.Parse(time.RFC3339, m["expiresAt"].(string))
	if d := time.Until(exp); d < 6*24*time.Hour || d > 7*24*time.Hour {
		e.TB.Errorf("link valid for %s, want 7 days", d)
	}
	u := m["url"].(string)
	return "/portal/" + u[strings.LastIndex(u, "#")+1:]
}

func putPortal(e *testenv.Env, path string, body any) testenv.Response {
	e.TB.Helper()
	return e.Do(testenv.Request{Method: "PUT", Path: path, Body: body})
}

// sameAnswer strips the request id, which differs per request.
var requestIDRe = regexp.MustCompile(`"requestId":"[^"]*"`)

func sameAnswer(a, b testenv.Response) bool {
	return a.Status == b.Status && requestIDRe.ReplaceAllString(string(a.Body), "") == requestIDRe.ReplaceAllString(string(b.Body), "")
}

func TestPortalRoundTrip(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, e.Token("root", "admin"), fullBody)
	link := portalLink(e, alice, id)

	view := get(e, "", link)
	m := view.Map(t)
	if view.Status != 200 || m["name"] != "Li Wei" || m["phone"] != phoneE164 || m["billing"] != nil || m["nationalId"] != nil {
		t.Fatalf("portal view %d %s", view.Status, view.Body)
	}
	later := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
	e.Services.API.Customers.Now = func() time.Time { return later }
	r := putPortal(e, link, map[string]any{"email": "New.Address@Example.org", "address": map[string]any{"line1": "1 New Street", "country": "CN"}})
	if r.Status != 200 || r.Map(t)["email"] != "new.address@example.org" {
		t.Fatalf("portal update %d %s", r.Status, r.Body)
	}
	c := get(e, alice, "/customers/"+id).Map(t)
	verified, _ := time.Parse(time.RFC3339, c["verifiedAt"].(string))
	due, _ := time.Parse(time.RFC3339, c["reviewDueAt"].(string))
	if c["email"] != "new.address@example.org" || c["phone"] != phoneE164 || !verified.Equal(later) || !due.Equal(later.Add(180*24*time.Hour)) {
		t.Fatalf("customer after portal update: %v", c)
	}
	trail := auditEntries(t, e, "entityId="+id)
	if trail[0].Action != "customer.portal_update" || trail[0].Actor != "customer:"+id || !slices.Contains(trail[0].ChangedFields, "verifiedAt") ||
		trail[1].Action != "customer.portal_view" || trail[1].Actor != "customer:"+id ||
		trail[2].Action != "customer.portal_link" || trail[2].Actor != "alice" {
		t.Fatalf("the portal's uses are not attributed to the customer: %+v", trail[:3])
	}

	t.Run("ErrReusedLink", func(t *testing.T) {
		if r := get(e, "", link); r.Status != 404 {
			t.Fatalf("GET after use: %d", r.Status)
		}
		if r := putPortal(e, link, map[string]any{"email": "x@example.org"}); r.Status != 404 {
			t.Fatalf("PUT after use: %d", r.Status)
		}
	})
}

func TestPortalRefusals(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	other := mustCreate(e, alice, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	link := portalLink(e, alice, id)

	unknown := get(e, "", "/portal/bm90LWEtdG9rZW4.c2ln")
	tampered := link[:len(link)-3] + "AAA"
	for name, path := range map[string]string{"Tampered": tampered, "OtherSignature": link + "x", "Garbage": "/portal/x"} {
		t.Run("Err"+name, func(t *testing.T) {
			r := get(e, "", path)
			if r.Status != 404 || !sameAnswer(r, unknown) {
				t.Fatalf("got %d %s, want the same 404 as any unknown link", r.Status, r.Body)
			}
		})
	}
	t.Run("ErrInvalidChangeLeavesLinkUsable", func(t *testing.T) {
		r := putPortal(e, link, map[string]any{"email": "not-an-email", "phone": nil})
		if got := fieldsOf(t, r); r.Status != 400 || !slices.Equal(got, []string{"email"}) {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
		if r := putPortal(e, link, map[string]any{"name": "Someone Else"}); r.Status != 400 {
			t.Fatalf("a customer changed a field the portal does not offer: %d", r.Status)
		}
		if r := putPortal(e, link, map[string]any{"phone": "+86 139 0013 9000"}); r.Status != 409 || r.Map(t)["duplicateOf"] != nil || strings.Contains(string(r.Body), other) {
			t.Fatalf("duplicate phone: %d %s (the portal must not say whose)", r.Status, r.Body)
		}
		if r := putPortal(e, link, map[string]any{"phone": nil}); r.Status != 400 {
			t.Fatalf("removing the only contact: %d %s", r.Status, r.Body)
		}
		if r := get(e, "", link); r.Status != 200 {
			t.Fatalf("a refused change used up the link: %d", r.Status)
		}
	})
	t.Run("ErrOtherRepsCustomer", func(t *testing.T) {
		if r := post(e, e.Token("bob", "sales"), "/customers/"+other+"/portal-links", nil); r.Status != 404 {
			t.Fatalf("status %d", r.Status)
		}
		if r := post(e, e.Token("fin", "finance"), "/customers/"+other+"/portal-links", nil); r.Status != 403 {
			t.Fatalf("finance: %d", r.Status)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		e.Services.API.Customers.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
		defer func() { e.Services.API.Customers.Now = time.Now }()
		if r := get(e, "", link); r.Status != 404 || !sameAnswer(r, unknown) {
			t.Fatalf("expired link: %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrRevokedByErasure", func(t *testing.T) {
		l := portalLink(e, alice, other)
		e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + other, Token: e.Token("root", "admin")})
		if r := get(e, "", l); r.Status != 404 || !sameAnswer(r, unknown) {
			t.Fatalf("link of an erased customer: %d %s", r.Status, r.Body)
		}
	})
}

func TestPortalRateLimit(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	link := portalLink(e, alice, id)
	for i := 1; i <= 30; i++ {
		if r := get(e, "", link); r.Status != 200 {
			t.Fatalf("request %d: %d", i, r.Status)
		}
	}
	r := get(e, "", link)
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("31st request in the hour: %d", r.Status)
	}
	// A guess fails its signature check before any I/O: it neither
	// counts nor writes, and the address's limit is left for real links.
	for i := 0; i < 100; i++ {
		get(e, "", "/portal/guess"+string(rune('a'+i%26))+".x")
	}
	for _, item := range scanTable(t, e, e.Config.Table) {
		if pk := item["PK"].(*types.AttributeValueMemberS).Value; strings.Contains(pk, "guess") {
			t.Errorf("a guessed token was stored: %s", pk)
		}
	}
	other := portalLink(e, alice, id)
	if r := get(e, "", other); r.Status != 200 {
		t.Fatalf("another link from the same address after 100 guesses: %d", r.Status)
	}
}

// TestPortalTokensNeverStored issues links, uses them every way the portal
// allows (views, refused and accepted corrections, throttling), then scans
// both tables for any token or signature in any attribute.
func TestPortalTokensNeverStored(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	mustCreate(e, alice, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	var tokens []string
	for range 3 {
		link := portalLink(e, alice, id)
		tokens = append(tokens, strings.TrimPrefix(link, "/portal/"))
		for range 31 {
			get(e, "", link)
		}
		putPortal(e, link, map[string]any{"phone": "+86 139 0013 9000"})
		putPortal(e, link, map[string]any{"email": "not-an-email"})
	}
	last := portalLink(e, alice, id)
	tokens = append(tokens, strings.TrimPrefix(last, "/portal/"))
	if r := putPortal(e, last, map[string]any{"email": "li@example.org"}); r.Status != 200 {
		t.Fatalf("portal update %d %s", r.Status, r.Body)
	}
	for _, table := range []string{e.Config.Table, e.Config.AuditTable} {
		items := scanTable(t, e, table)
		for _, item := range items {
			for name, v := range item {
				s := attrText(v)
				for _, tok := range tokens {
					enc, sig, _ := strings.Cut(tok, ".")
					if strings.Contains(s, sig) || strings.Contains(s, enc) {
						t.Errorf("table %s: attribute %s holds a live portal token", table, name)
					}
				}
			}
		}
	}
}

func TestPortalTokenEdges(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	link := portalLink(e, alice, id)
	unknown := get(e, "", "/portal/bm90LWEtdG9rZW4.c2ln")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	respelled := link[:len(link)-1] + string(alphabet[strings.IndexByte(alphabet, link[len(link)-1])^1])
	for name, path := range map[string]string{
		// Once a 500: the rate-limit key outgrew DynamoDB's key size.
		"TooLong":       link + strings.Repeat("A", 3<<10),
		"HugeGuess":     "/portal/" + strings.Repeat("x", 4<<10),
		"NonCanonical":  respelled,
		"ExtraSegment":  link + ".x",
		"PaddedSig":     link + "=",
		"EmptyPayload":  "/portal/." + link[strings.LastIndexByte(link, '.')+1:],
		"OnlySeparator": "/portal/.",
	} {
		t.Run("Err"+name, func(t *testing.T) {
			for _, method := range []string{"GET", "PUT"} {
				r := e.Do(testenv.Request{Method: method, Path: path, Body: `{"email":"a@example.org"}`})
				if r.Status != 404 || !sameAnswer(r, unknown) {
					t.Fatalf("%s: %d %s, want the same 404 as any unknown link", method, r.Status, r.Body)
				}
			}
		})
	}
	if r := get(e, "", link); r.Status != 200 {
		t.Fatalf("the canonical token stopped working: %d", r.Status)
	}
}

func scanTable(t *testing.T, e *testenv.Env, table string) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(e.DB, &dynamodb.ScanInput{TableName: aws.String(table)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
	}
	return items
}

// attrText flattens an attribute to the text it holds, binary included.
func attrText(v types.AttributeValue) string {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberB:
		return string(x.Value)
	case *types.AttributeValueMemberSS:
		return strings.Join(x.Value, " ")
	case *types.AttributeValueMemberL:
		var b strings.Builder
		for _, e := range x.Value {
			b.WriteString(attrText(e) + " ")
		}
		return b.String()
	case *types.AttributeValueMemberM:
		var b strings.Builder
		for k, e := range x.Value {
			b.WriteString(k + " " + attrText(e) + " ")
		}
		return b.String()
	}
	return ""
}

// TestPortalUseIsAuditedAndTheOwnerTold: each use of a link is in the
// audit trail with a digest of the client's address (never the address),
// and a change the customer makes is recorded for their owner to hear of.
func TestPortalUseIsAuditedAndTheOwnerTold(t *testing.T) {
	e := testenv.New(t)
	alice, admin := e.Token("alice", "sales"), e.Token("root", "admin")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	link := portalLink(e, alice, id)
	if r := get(e, "", link); r.Status != http.StatusOK {
		t.Fatalf("view: %d", r.Status)
	}
	if r := putPortal(e, link, map[string]any{"email": "li.wei@example.org"}); r.Status != http.StatusOK {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	var l struct{ Items []crm.AuditEntry }
	get(e, admin, "/audit?entityId="+id).JSON(t, &l)
	uses := map[string]string{}
	for _, a := range l.Items {
		if strings.HasPrefix(a.Action, "customer.portal_") && a.Actor == "customer:"+id {
			uses[a.Action] = a.Client
		}
	}
	for _, action := range []string{"customer.portal_view", "customer.portal_update"} {
		if c := uses[action]; c == "" || strings.Contains(c, "127.0.0.1") {
			t.Errorf("%s on record with client %q, want a digest of the address", action, c)
		}
	}
	if uses["customer.portal_view"] != uses["customer.portal_update"] {
		t.Error("two uses from one address carry different digests")
	}
	out, err := e.DB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(e.Config.Table), IndexName: aws.String("GSI4"),
		KeyConditionExpression:    aws.String("GSI4PK = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "NOTIFY#pending"}}})
	if err != nil {
		t.Fatal(err)
	}
	told := false
	for _, k := range out.Items {
		n := rawItem(t, e, k["PK"].(*types.AttributeValueMemberS).Value, k["SK"].(*types.AttributeValueMemberS).Value)
		kind, _ := n["kind"].(*types.AttributeValueMemberS)
		to, _ := n["recipientId"].(*types.AttributeValueMemberS)
		told = told || kind != nil && kind.Value == crm.NotifySelfServiceUpdate && to != nil && to.Value == "alice"
	}
	if !told {
		t.Error("no notification for the owner of the customer's own change")
	}
}
