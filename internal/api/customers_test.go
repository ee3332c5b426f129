package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/testenv"
)

// Test data. None of it may appear in a log line or, sealed, in the table.
const (
	phoneRaw   = "138 0013 8000"
	phoneE164  = "+8613800138000"
	emailRaw   = " Li.Wei@Example.COM "
	emailNorm  = "li.wei@example.com"
	street     = "88 Jianguo Road"
	nationalID = "110101199003074258"
	bank       = "CN12BANK0000123456789"
)

func post(e *testenv.Env, token, path string, body any) testenv.Response {
	e.TB.Helper()
	return e.Do(testenv.Request{Method: "POST", Path: path, Token: token, Body: body})
}

func get(e *testenv.Env, token, path string) testenv.Response {
	e.TB.Helper()
	return e.Do(testenv.Request{Method: "GET", Path: path, Token: token})
}

func patch(e *testenv.Env, token, path, etag string, body any) testenv.Response {
	e.TB.Helper()
	h := map[string]string{"Content-Type": "application/merge-patch+json"}
	if etag != "" {
		h["If-Match"] = etag
	}
	return e.Do(testenv.Request{Method: "PATCH", Path: path, Token: token, Body: body, Header: h})
}

// mustCreate creates a customer and returns its id.
func mustCreate(e *testenv.Env, token string, body map[string]any) string {
	e.TB.Helper()
	r := post(e, token, "/customers", body)
	if r.Status != http.StatusCreated {
		e.TB.Fatalf("create: got %d %s", r.Status, r.Body)
	}
	return r.Map(e.TB)["id"].(string)
}

// fieldsOf lists the fields a problem names, sorted.
func fieldsOf(tb testing.TB, r testenv.Response) []string {
	tb.Helper()
	var p struct {
		Errors []struct{ Field string } `json:"errors"`
	}
	r.JSON(tb, &p)
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestCustomerCreate(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	r := post(e, alice, "/customers", map[string]any{
		"name": "  LI   WEI ", "phone": phoneRaw, "email": emailRaw, "tags": []string{"VIP", " Key  Account", "vip"},
		"address": map[string]any{"line1": street, "city": "Beijing", "country": "cn"}, "segment": "SMB",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	got := r.Map(t)
	id := got["id"].(string)
	want := map[string]any{
		"name": "Li Wei", "phone": phoneE164, "email": emailNorm, "ownerId": "alice", "segment": "smb",
		"version": float64(1), "completeness": float64(1),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	if tags := fmt.Sprint(got["tags"]); tags != "[key account vip]" {
		t.Errorf("tags: got %s", tags)
	}
	if addr := got["address"].(map[string]any); addr["country"] != "CN" {
		t.Errorf("address.country: got %v", addr["country"])
	}
	if loc := r.Header.Get("Location"); loc != "/customers/"+id {
		t.Errorf("Location: got %q", loc)
	}
	if et := r.Header.Get("ETag"); et != `"1"` {
		t.Errorf("ETag: got %q", et)
	}
	updated, _ := time.Parse(time.RFC3339, got["updatedAt"].(string))
	due, _ := time.Parse(time.RFC3339, got["reviewDueAt"].(string))
	if d := due.Sub(updated); d != 180*24*time.Hour {
		t.Errorf("reviewDueAt - updatedAt = %s, want 180 days", d)
	}

	t.Run("ReadBack", func(t *testing.T) {
		g := get(e, alice, "/customers/"+id)
		if g.Status != http.StatusOK || g.Map(t)["phone"] != phoneE164 || g.Header.Get("ETag") != `"1"` {
			t.Fatalf("got %d %s", g.Status, g.Body)
		}
	})
	t.Run("MissingFieldsFromPolicy", func(t *testing.T) {
		m := post(e, alice, "/customers", map[string]any{"name": "Zhang San", "email": "zs@example.com"}).Map(t)
		if m["completeness"] != 0.5 || fmt.Sprint(m["missingFields"]) != "[phone address]" {
			t.Errorf("completeness %v missing %v", m["completeness"], m["missingFields"])
		}
	})
}

func TestCustomerCreateInvalid(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	tests := []struct {
		name       string
		body       any
		wantStatus int
		wantFields []string
	}{
		{"ErrNameRequired", map[string]any{"phone": phoneRaw}, 400, []string{"name"}},
		{"ErrContactRequired", map[string]any{"name": "A B"}, 400, []string{"email", "phone"}},
		{"ErrEveryFieldNamed", map[string]any{"name": "", "phone": "12", "email": "not-an-email", "nationalId": "x!", "address": map[string]any{"city": "X", "country": "China"}, "tags": []string{"!!"}},
			400, []string{"address.country", "address.line1", "email", "name", "nationalId", "phone", "tags"}},
		{"ErrUnknownField", map[string]any{"name": "A B", "phone": phoneRaw, "fax": "1"}, 400, []string{"fax"}},
		{"ErrReadOnlyField", map[string]any{"name": "A B", "phone": phoneRaw, "id": "c_x", "version": 3}, 400, []string{"id", "version"}},
		{"ErrWrongTypes", map[string]any{"name": 5, "phone": true, "tags": "vip", "consent": map[string]any{"reminders": "yes"}}, 400, []string{"consent.reminders", "email", "name", "phone", "tags"}},
		{"ErrTypeAndRuleErrorsTogether", map[string]any{"name": 5, "email": "bad", "nationalId": "??"}, 400, []string{"email", "name", "nationalId"}},
		{"ErrNestedUnknown", map[string]any{"name": "A B", "phone": phoneRaw, "address": map[string]any{"line1": "x", "country": "CN", "street": "y"}}, 400, []string{"address.street"}},
		{"ErrMalformedJSON", `{"name": "A B",`, 400, []string{"body"}},
		{"ErrNotAnObject", `["name"]`, 400, []string{"body"}},
		{"ErrEmptyBody", "", 400, []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(e, alice, "/customers", tt.body)
			if r.Status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.wantStatus, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := fieldsOf(t, r); !slices.Equal(got, tt.wantFields) {
				t.Errorf("fields %v, want %v", got, tt.wantFields)
			}
		})
	}
	t.Run("ErrUnsupportedMediaType", func(t *testing.T) {
		r := e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: alice, Body: "name=x", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		if r.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("a", 300<<10) + `"}`
		if r := post(e, alice, "/customers", big); r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("ErrUnknownQueryParameter", func(t *testing.T) {
		if r := post(e, alice, "/customers?allowDuplicates=true", map[string]any{"name": "A B", "phone": phoneRaw}); r.Status != 400 {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("NothingWasWritten", func(t *testing.T) {
		var l struct{ Items []any }
		get(e, e.Token("root", "admin"), "/customers").JSON(t, &l)
		if len(l.Items) != 0 {
			t.Fatalf("rejected requests stored %d customers", len(l.Items))
		}
	})
}

func TestCustomerAuthorization(t *testing.T) {
	e := testenv.New(t)
	alice, bob := e.Token("alice", "sales"), e.Token("bob", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})

	tests := []struct {
		name   string
		req    testenv.Request
		status int
	}{
		{"NoTokenIs401", testenv.Request{Method: "GET", Path: "/customers/" + id}, 401},
		{"OtherRepGetIs404", testenv.Request{Method: "GET", Path: "/customers/" + id, Token: bob}, 404},
		{"OtherRepPatchIs404", testenv.Request{Method: "PATCH", Path: "/customers/" + id, Token: bob, Body: `{"company":"X"}`}, 404},
		{"OtherRepVerifyIs404", testenv.Request{Method: "POST", Path: "/customers/" + id + "/verify", Token: bob}, 404},
		{"OtherRepInteractionsIs404", testenv.Request{Method: "GET", Path: "/customers/" + id + "/interactions", Token: bob}, 404},
		{"OwnerGets", testenv.Request{Method: "GET", Path: "/customers/" + id, Token: alice}, 200},
		{"ServiceGets", testenv.Request{Method: "GET", Path: "/customers/" + id, Token: e.Token("sam", "service")}, 200},
		{"AuditorGets", testenv.Request{Method: "GET", Path: "/customers/" + id, Token: e.Token("aud", "auditor")}, 200},
		{"FinanceCannotCreate", testenv.Request{Method: "POST", Path: "/customers", Token: e.Token("fin", "finance"), Body: `{"name":"A B","phone":"13800138001"}`}, 403},
		{"AuditorCannotPatch", testenv.Request{Method: "PATCH", Path: "/customers/" + id, Token: e.Token("aud", "auditor"), Body: `{"company":"X"}`}, 403},
		{"SalesCannotImport", testenv.Request{Method: "POST", Path: "/customers/import", Token: alice, Body: `[]`}, 403},
		{"SalesCannotCreateForOthers", testenv.Request{Method: "POST", Path: "/customers", Token: alice, Body: `{"name":"A B","phone":"13800138002","ownerId":"bob"}`}, 403},
		{"SalesCannotReassign", testenv.Request{Method: "PATCH", Path: "/customers/" + id, Token: alice, Body: `{"ownerId":"bob"}`}, 403},
		{"NoRoleIs403", testenv.Request{Method: "GET", Path: "/customers", Token: e.Token("nobody")}, 403},
		{"UnknownIDIs404", testenv.Request{Method: "GET", Path: "/customers/c_doesnotexist", Token: alice}, 404},
		{"MalformedIDIs404", testenv.Request{Method: "GET", Path: "/customers/%C3%A9%23PROFILE", Token: e.Token("root", "admin")}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.Do(tt.req); r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
		})
	}
	t.Run("OtherRepListIsEmpty", func(t *testing.T) {
		for _, path := range []string{"/customers", "/customers?owner=alice", "/customers?phone=13800138000"} {
			var l struct{ Items []any }
			get(e, bob, path).JSON(t, &l)
			if len(l.Items) != 0 {
				t.Errorf("%s: bob sees %d of alice's customers", path, len(l.Items))
			}
		}
	})
	t.Run("AdminReassigns", func(t *testing.T) {
		r := patch(e, e.Token("root", "admin"), "/customers/"+id, "", map[string]any{"ownerId": "bob"})
		if r.Status != 200 || get(e, bob, "/customers/"+id).Status != 200 || get(e, alice, "/customers/"+id).Status != 404 {
			t.Fatalf("reassignment did not move the customer: %d %s", r.Status, r.Body)
		}
	})
}

func TestCustomerPatch(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "company": "Acme", "address": map[string]any{"line1": street, "city": "Beijing", "country": "CN"}})
	path := "/customers/" + id

	r := patch(e, alice, path, `"1"`, map[string]any{"company": nil, "email": emailRaw, "address": map[string]any{"city": "Shanghai"}})
	if r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	m := r.Map(t)
	addr := m["address"].(map[string]any)
	switch {
	case m["company"] != nil:
		t.Errorf("company not removed: %v", m["company"])
	case m["email"] != emailNorm:
		t.Errorf("email not standardized: %v", m["email"])
	case addr["city"] != "Shanghai" || addr["line1"] != street:
		t.Errorf("address not merged: %v", addr)
	case r.Header.Get("ETag") != `"2"`:
		t.Errorf("ETag %q", r.Header.Get("ETag"))
	}

	t.Run("ErrStaleIfMatchIs412", func(t *testing.T) {
		if r := patch(e, alice, path, `"1"`, map[string]any{"company": "X"}); r.Status != http.StatusPreconditionFailed {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("ErrReadOnlyAndInvalid", func(t *testing.T) {
		r := patch(e, alice, path, "", map[string]any{"createdAt": "2020-01-01T00:00:00Z", "name": nil, "email": "bad"})
		if got := fieldsOf(t, r); r.Status != 400 || !slices.Equal(got, []string{"createdAt"}) {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
		r = patch(e, alice, path, "", map[string]any{"name": nil, "email": "bad"})
		if got := fieldsOf(t, r); r.Status != 400 || !slices.Equal(got, []string{"email", "name"}) {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
	})
	t.Run("ErrRemovingLastContact", func(t *testing.T) {
		r := patch(e, alice, path, "", map[string]any{"phone": nil, "email": nil})
		if r.Status != 400 {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("RejectedPatchChangesNothing", func(t *testing.T) {
		g := get(e, alice, path)
		if g.Header.Get("ETag") != `"2"` || g.Map(t)["email"] != emailNorm {
			t.Fatalf("customer changed: %s %s", g.Header.Get("ETag"), g.Body)
		}
	})
	t.Run("PlainJSONAccepted", func(t *testing.T) {
		r := e.Do(testenv.Request{Method: "PATCH", Path: path, Token: alice, Body: `{"segment":"Enterprise"}`})
		if r.Status != 200 || r.Map(t)["segment"] != "enterprise" {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
}

func TestCustomerConcurrentPatch(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = patch(e, alice, "/customers/"+id, `"1"`, map[string]any{"company": fmt.Sprintf("Company %d", i)}).Status
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	if count[200] != 1 || count[412] != n-1 {
		t.Fatalf("got %v, want one 200 and %d 412", count, n-1)
	}
	if v := get(e, alice, "/customers/"+id).Map(t)["version"]; v != float64(2) {
		t.Fatalf("version %v, want 2", v)
	}
}

func TestIdempotency(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	body := `{"name":"Li Wei","phone":"13800138000"}`
	send := func(token, key, body string) testenv.Response {
		return e.Do(testenv.Request{Method: "POST", Path: "/customers", Token: token, Body: body, Header: map[string]string{"Idempotency-Key": key}})
	}
	first := send(alice, "k-1", body)
	retry := send(alice, "k-1", body)
	if first.Status != 201 || retry.Status != 201 {
		t.Fatalf("statuses %d %d: %s", first.Status, retry.Status, retry.Body)
	}
	if string(first.Body) != string(retry.Body) || retry.Header.Get("Idempotent-Replayed") != "true" || retry.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("retry did not replay the first response:\n%s\n%s", first.Body, retry.Body)
	}
	var l struct{ Items []any }
	get(e, alice, "/customers").JSON(t, &l)
	if len(l.Items) != 1 {
		t.Fatalf("%d customers after a retried create, want 1", len(l.Items))
	}
	t.Run("ErrSameKeyOtherBody", func(t *testing.T) {
		if r := send(alice, "k-1", `{"name":"Other","phone":"13800138009"}`); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
	t.Run("KeysAreScopedToTheCaller", func(t *testing.T) {
		r := send(e.Token("bob", "sales"), "k-1", `{"name":"Bob's","phone":"13800138011"}`)
		if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
	t.Run("FailedRequestCanBeRetried", func(t *testing.T) {
		if r := send(alice, "k-2", `{"name":"","phone":"13800138012"}`); r.Status != 400 {
			t.Fatalf("status %d", r.Status)
		}
		if r := send(alice, "k-2", `{"name":"","phone":"13800138012"}`); r.Status != 400 || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("a failed response was replayed: %d", r.Status)
		}
	})
}

func TestDuplicates(t *testing.T) {
	e := testenv.New(t)
	alice, bob, admin := e.Token("alice", "sales"), e.Token("bob", "sales"), e.Token("root", "admin")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw, "nationalId": nationalID})

	for name, body := range map[string]map[string]any{
		"SamePhoneOtherFormat": {"name": "Other", "phone": "+86 138-0013-8000"},
		"SameEmailOtherCase":   {"name": "Other", "email": "LI.WEI@example.com"},
		"SameNationalID":       {"name": "Other", "phone": "13900139000", "nationalId": "110101-19900307-4258"},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			// Another rep learns which field collides, not whose customer.
			r := post(e, bob, "/customers", body)
			m := r.Map(t)
			if r.Status != http.StatusConflict || m["duplicateOf"] != nil || !strings.Contains(string(r.Body), `"code":"duplicate"`) {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			if strings.Contains(string(r.Body), "Li Wei") || strings.Contains(string(r.Body), "alice") || strings.Contains(string(r.Body), id) {
				t.Fatalf("the conflict leaks the other customer: %s", r.Body)
			}
			// The owner, who may read it, is told which customer it is.
			if m := post(e, alice, "/customers", body).Map(t); m["duplicateOf"] != id {
				t.Fatalf("the owner's conflict: %v", m)
			}
		})
	}
	t.Run("ErrNonAdminAllowDuplicate", func(t *testing.T) {
		if r := post(e, alice, "/customers?allowDuplicate=true", map[string]any{"name": "Twin", "phone": phoneRaw}); r.Status != 403 {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("AdminAllowsDuplicate", func(t *testing.T) {
		r := post(e, admin, "/customers?allowDuplicate=true", map[string]any{"name": "Twin", "phone": phoneRaw, "ownerId": "alice"})
		if r.Status != 201 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		var l struct{ Items []map[string]any }
		get(e, admin, "/customers?phone="+strings.ReplaceAll(phoneRaw, " ", "")).JSON(t, &l)
		if len(l.Items) != 2 {
			t.Fatalf("lookup found %d, want both customers", len(l.Items))
		}
	})
	t.Run("ErrUpdateIntoDuplicate", func(t *testing.T) {
		other := mustCreate(e, alice, map[string]any{"name": "Wang Fang", "phone": "13700137000"})
		r := patch(e, alice, "/customers/"+other, "", map[string]any{"email": emailNorm})
		if r.Status != 409 || r.Map(t)["duplicateOf"] != id {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
	t.Run("ChangedPhoneIsReleased", func(t *testing.T) {
		if r := patch(e, alice, "/customers/"+id, "", map[string]any{"phone": "13600136000"}); r.Status != 200 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
		// The admin-allowed twin still has the old number but holds no claim
		// on it, so the released claim is free to take.
		if r := post(e, bob, "/customers", map[string]any{"name": "New Holder", "phone": "13800138000"}); r.Status != 201 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
	t.Run("ConcurrentCreatesOneWins", func(t *testing.T) {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = post(e, alice, "/customers", map[string]any{"name": fmt.Sprint("Racer ", i), "phone": "13500135000"}).Status
			}()
		}
		wg.Wait()
		slices.Sort(statuses)
		if !slices.Equal(statuses, []int{201, 409}) {
			t.Fatalf("statuses %v, want one 201 and one 409", statuses)
		}
	})
}

func TestCustomerList(t *testing.T) {
	e := testenv.New(t)
	alice, admin := e.Token("alice", "sales"), e.Token("root", "admin")
	var ids []string
	for i := range 7 {
		ids = append(ids, mustCreate(e, alice, map[string]any{"name": fmt.Sprint("Customer ", i), "phone": fmt.Sprintf("1380013810%d", i), "segment": []string{"smb", "enterprise"}[i%2], "tags": []string{"t" + fmt.Sprint(i%3)}}))
	}
	mustCreate(e, e.Token("bob", "sales"), map[string]any{"name": "Bob's", "phone": "13900139001", "segment": "smb"})

	t.Run("PagesNewestFirstWithoutOverlap", func(t *testing.T) {
		var seen []string
		cursor, pages := "", 0
		for {
			var l struct {
				Items      []map[string]any
				NextCursor string
			}
			r := get(e, alice, "/customers?limit=3&cursor="+cursor)
			if r.Status != 200 {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
			r.JSON(t, &l)
			pages++
			for _, it := range l.Items {
				seen = append(seen, it["id"].(string))
			}
			if l.NextCursor == "" {
				break
			}
			cursor = l.NextCursor
		}
		want := slices.Clone(ids)
		slices.Reverse(want)
		if pages != 3 || !slices.Equal(seen, want) {
			t.Fatalf("pages %d, seen %v, want %v", pages, seen, want)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		for _, tt := range []struct {
			query string
			token string
			want  int
		}{
			{"segment=smb", alice, 4}, {"segment=SMB", admin, 5}, {"tag=t0", alice, 3}, {"tag=t0&segment=enterprise", alice, 1},
			{"owner=alice", admin, 7}, {"owner=bob", admin, 1}, {"phone=13800138103", alice, 1}, {"stale=true", alice, 0},
		} {
			var l struct{ Items []any }
			r := get(e, tt.token, "/customers?"+tt.query)
			r.JSON(t, &l)
			if r.Status != 200 || len(l.Items) != tt.want {
				t.Errorf("%s: status %d, %d items, want %d", tt.query, r.Status, len(l.Items), tt.want)
			}
		}
	})
	t.Run("StaleAfterReviewPeriod", func(t *testing.T) {
		e.Services.API.Customers.Now = func() time.Time { return time.Now().Add(181 * 24 * time.Hour) }
		defer func() { e.Services.API.Customers.Now = time.Now }()
		var l struct{ Items []any }
		get(e, alice, "/customers?stale=true").JSON(t, &l)
		if len(l.Items) != 7 {
			t.Fatalf("%d stale, want 7", len(l.Items))
		}
	})
	t.Run("ErrBadParameters", func(t *testing.T) {
		r := get(e, alice, "/customers?limit=3")
		var l struct{ NextCursor string }
		r.JSON(t, &l)
		tampered := []byte(l.NextCursor)
		tampered[len(tampered)/2] ^= 1
		for _, q := range []string{"limit=0", "limit=201", "limit=x", "stale=maybe", "cursor=" + string(tampered), "cursor=" + l.NextCursor + "&segment=smb", "colour=red", "email=not-an-email"} {
			if r := get(e, alice, "/customers?"+q); r.Status != 400 {
				t.Errorf("%s: status %d", q, r.Status)
			}
		}
	})
}

func TestVerify(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	later := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	e.Services.API.Customers.Now = func() time.Time { return later }
	r := post(e, alice, "/customers/"+id+"/verify", nil)
	if r.Status != 200 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	m := r.Map(t)
	verified, _ := time.Parse(time.RFC3339, m["verifiedAt"].(string))
	due, _ := time.Parse(time.RFC3339, m["reviewDueAt"].(string))
	if !verified.Equal(later) || !due.Equal(later.Add(180*24*time.Hour)) || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("verifiedAt %s reviewDueAt %s etag %s", verified, due, r.Header.Get("ETag"))
	}
	if r := e.Do(testenv.Request{Method: "POST", Path: "/customers/" + id + "/verify", Token: alice, Header: map[string]string{"If-Match": `"1"`}}); r.Status != 412 {
		t.Fatalf("stale If-Match: status %d", r.Status)
	}
}

func TestInteractions(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	path := "/customers/" + id + "/interactions"
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, kind := range []string{"call", "email", "meeting", "note"} {
		body := map[string]any{"kind": kind, "at": base.Add(time.Duration(i) * time.Hour), "summary": "Discussed renewal " + fmt.Sprint(i)}
		if kind == "meeting" {
			body["followUpAt"] = base.Add(72 * time.Hour)
		}
		if r := post(e, alice, path, body); r.Status != 201 {
			t.Fatalf("%s: status %d %s", kind, r.Status, r.Body)
		}
	}
	var l struct {
		Items []struct {
			Kind, Summary, ActorID string
			FollowUpAt             *time.Time
		}
	}
	get(e, alice, path).JSON(t, &l)
	var kinds []string
	for _, it := range l.Items {
		kinds = append(kinds, it.Kind)
	}
	if !slices.Equal(kinds, []string{"note", "meeting", "email", "call"}) || l.Items[1].FollowUpAt == nil || l.Items[0].ActorID != "alice" {
		t.Fatalf("got %+v", l.Items)
	}
	t.Run("ErrInvalid", func(t *testing.T) {
		r := post(e, alice, path, map[string]any{"kind": "fax", "summary": "", "followUpAt": base, "at": base.Add(time.Hour)})
		if got := fieldsOf(t, r); r.Status != 400 || !slices.Equal(got, []string{"followUpAt", "kind", "summary"}) {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
	})
	t.Run("ErrUnknownCustomer", func(t *testing.T) {
		if r := post(e, alice, "/customers/c_nope/interactions", map[string]any{"kind": "call", "at": base, "summary": "x"}); r.Status != 404 {
			t.Fatalf("status %d", r.Status)
		}
	})
}

func TestImport(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	r := post(e, admin, "/customers/import", []map[string]any{
		{"name": "Li Wei", "phone": phoneRaw, "ownerId": "alice"},
		{"name": "", "phone": "12"},
		{"name": "Li Wei Again", "phone": "+86 138 0013 8000", "ownerId": "alice"},
		{"name": "Wang Fang", "email": "wf@example.com", "ownerId": "bob", "colour": "red"},
	})
	var res struct {
		Items []struct {
			Row         int
			ID          string
			DuplicateOf string
			Errors      []struct{ Field, Code string }
		}
		Created, Rejected int
	}
	r.JSON(t, &res)
	if r.Status != 200 || res.Created != 1 || res.Rejected != 3 || len(res.Items) != 4 {
		t.Fatalf("status %d %s", r.Status, r.Body)
	}
	if res.Items[0].ID == "" || len(res.Items[1].Errors) != 2 || res.Items[2].DuplicateOf != res.Items[0].ID || res.Items[3].Errors[0].Field != "colour" {
		t.Fatalf("rows %+v", res.Items)
	}
	t.Run("CSV", func(t *testing.T) {
		csv := "name,phone,email,tags,address.line1,address.country,consent.reminders,ownerId\n" +
			"Zhao Lei,13700137001,,vip;gold,1 Main St,CN,true,alice\n" +
			"Bad Row,,,,,,,alice\n"
		r := e.Do(testenv.Request{Method: "POST", Path: "/customers/import", Token: admin, Body: csv, Header: map[string]string{"Content-Type": "text/csv"}})
		var res struct {
			Created, Rejected int
		}
		r.JSON(t, &res)
		if r.Status != 200 || res.Created != 1 || res.Rejected != 1 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
	t.Run("ErrUnknownCSVColumn", func(t *testing.T) {
		r := e.Do(testenv.Request{Method: "POST", Path: "/customers/import", Token: admin, Body: "name,fax\nA,1\n", Header: map[string]string{"Content-Type": "text/csv"}})
		if got := fieldsOf(t, r); r.Status != 400 || !slices.Equal(got, []string{"header.fax"}) {
			t.Fatalf("status %d fields %v", r.Status, got)
		}
	})
}

func TestNoPersonalDataInLogs(t *testing.T) {
	e := testenv.New(t)
	alice := e.Token("alice", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw, "nationalId": nationalID, "address": map[string]any{"line1": street, "country": "CN"}})
	post(e, alice, "/customers", map[string]any{"name": "Li Wei", "phone": phoneRaw})
	post(e, alice, "/customers", map[string]any{"name": "Li Wei", "phone": "bad " + phoneRaw, "email": "x" + emailNorm + "@"})
	patch(e, alice, "/customers/"+id, `"9"`, map[string]any{"email": emailNorm})
	e.Do(testenv.Request{Method: "GET", Path: "/customers/" + id, Token: alice,
		Header: map[string]string{"X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}})
	logs := e.Logs.String()
	if !strings.Contains(logs, `"route":"POST /customers"`) {
		t.Fatalf("no request logs captured")
	}
	if !strings.Contains(logs, `"traceId":"1-5759e988-bd862e3fe1be46a994272793"`) {
		t.Errorf("the request's trace id is not logged")
	}
	for _, secret := range []string{"Li Wei", phoneE164, "13800138000", emailNorm, nationalID, street} {
		if strings.Contains(logs, secret) {
			t.Errorf("a log line holds personal data")
		}
	}
}
