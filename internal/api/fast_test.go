package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/phone"
)

// The fast tier: the real route table, adapter, handlers and domain
// services over the in-memory fakes of the stores, so these run in
// milliseconds without DynamoDB Local. Storage behaviour is pinned by the
// integration tests beside them.

// fakeAPI is every route's handler over one set of fake stores.
type fakeAPI struct {
	h     *Handler
	store *crmfake.Stores
	clock *crmfake.Clock
	sent  *crmfake.Notifier
}

func newFakeAPI(tb testing.TB) *fakeAPI {
	tb.Helper()
	clock := crmfake.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	policy := crm.DefaultPolicy(phone.E164)
	store := crmfake.New(policy, clock.Now)
	ids := &crmfake.IDs{}
	sent := &crmfake.Notifier{}
	customers := &crm.Customers{Store: store.Customers, Complaints: store.Complaints, Audit: store.Audit, Policy: policy,
		Now: clock.Now, NewID: ids.New, Writes: store.Aggregates}
	portal := &crm.Portal{Customers: customers, Store: store.Portal, Tokens: crmfake.Signer{Key: []byte("k")}, BaseURL: "https://p.example/"}
	sla := crm.DefaultSLAPolicy()
	svc := Services{
		Customers: customers,
		Complaints: &crm.Complaints{Store: store.Complaints, Customers: store.Customers, SLA: sla, Assignment: crm.Assignment{Mode: crm.AssignOwner},
			Categories: crm.DefaultCategories, Notifier: sent, Now: clock.Now, NewID: ids.New},
		Portal:      portal,
		Reminders:   &crm.Reminders{Store: store.Reminders, Customers: store.Customers, Portal: portal, SLA: sla, Notifier: sent, Now: clock.Now},
		Reports:     &crm.Reports{Store: store.Aggregates, Targets: crm.DefaultTargets, Now: clock.Now},
		Audit:       store.Audit,
		Idempotency: store.Idempotency,
		Now:         clock.Now,
		Logger:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	return &fakeAPI{h: NewHandler(svc, "", AllRoutes()), store: store, clock: clock, sent: sent}
}

// call sends one API Gateway event for route key as user with roles.
func (f *fakeAPI) call(tb testing.TB, method, path, body string, header map[string]string, user string, roles ...string) events.APIGatewayV2HTTPResponse {
	tb.Helper()
	key, params := f.match(method, path)
	ev := events.APIGatewayV2HTTPRequest{RouteKey: key, RawPath: path, Body: body, PathParameters: params, Headers: map[string]string{}}
	if p, q, ok := strings.Cut(path, "?"); ok {
		ev.RawPath, ev.RawQueryString = p, q
	}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.RequestID = "req-fast"
	if body != "" {
		ev.Headers["content-type"] = "application/json"
	}
	for k, v := range header {
		ev.Headers[strings.ToLower(k)] = v
	}
	if user != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": user, "cognito:groups": "[" + strings.Join(roles, " ") + "]"}}}
	}
	resp, err := f.h.Invoke(context.Background(), ev)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// match finds the route of method and path as API Gateway would.
func (f *fakeAPI) match(method, path string) (string, map[string]string) {
	path, _, _ = strings.Cut(path, "?")
	got := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range Routes() {
		want := strings.Split(strings.Trim(rt.Path, "/"), "/")
		if rt.Method != method || len(want) != len(got) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, seg := range want {
			switch {
			case strings.HasPrefix(seg, "{"):
				params[strings.Trim(seg, "{}")] = got[i]
			case seg != got[i]:
				ok = false
			}
		}
		if ok {
			return rt.Key(), params
		}
	}
	return method + " " + path, nil
}

func decodeBody[T any](tb testing.TB, resp events.APIGatewayV2HTTPResponse) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal([]byte(resp.Body), &v); err != nil {
		tb.Fatalf("body %q: %v", resp.Body, err)
	}
	return v
}

func problemFields(tb testing.TB, resp events.APIGatewayV2HTTPResponse) []string {
	tb.Helper()
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		tb.Fatalf("status %d answered as %q, want problem+json: %s", resp.StatusCode, ct, resp.Body)
	}
	p := decodeBody[Problem](tb, resp)
	var fields []string
	for _, e := range p.Errors {
		fields = append(fields, e.Field)
	}
	return fields
}

func TestFastCustomerRoutes(t *testing.T) {
	t.Run("CreateStandardizesAndLocates", func(t *testing.T) {
		f := newFakeAPI(t)
		resp := f.call(t, "POST", "/customers", `{"name":"  li  wei ","phone":"138 0013 8000","email":"LI@Example.cn"}`, nil, "rep1", "sales")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		c := decodeBody[customerView](t, resp)
		if c.Name != "Li Wei" || c.Phone != "+8613800138000" || c.Email != "li@example.cn" || c.OwnerID != "rep1" {
			t.Errorf("created %+v", c.Customer)
		}
		if resp.Headers["Location"] != "/customers/"+c.ID || resp.Headers["Etag"] != `"1"` {
			t.Errorf("headers %v", resp.Headers)
		}
	})
	t.Run("ErrEveryBadFieldNamedAndNothingStored", func(t *testing.T) {
		f := newFakeAPI(t)
		resp := f.call(t, "POST", "/customers", `{"name":"","phone":"12","email":"nope","nickname":"x"}`, nil, "rep1", "sales")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
		fields := strings.Join(problemFields(t, resp), ",")
		for _, want := range []string{"name", "phone", "email", "nickname"} {
			if !strings.Contains(fields, want) {
				t.Errorf("problem names %q, not %s", fields, want)
			}
		}
		all := f.call(t, "GET", "/customers", "", nil, "root", "admin")
		if got := decodeBody[list[customerView]](t, all); len(got.Items) != 0 {
			t.Errorf("a refused create stored %d customers", len(got.Items))
		}
	})
	t.Run("ErrNotJSON", func(t *testing.T) {
		f := newFakeAPI(t)
		resp := f.call(t, "POST", "/customers", `name=x`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "rep1", "sales")
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("status %d, want 415", resp.StatusCode)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		f := newFakeAPI(t)
		resp := f.call(t, "POST", "/customers", `{"name":"`+strings.Repeat("a", 300<<10)+`"}`, nil, "rep1", "sales")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	})
	t.Run("OtherRepsCustomerIsNotFound", func(t *testing.T) {
		f := newFakeAPI(t)
		id := decodeBody[customerView](t, f.call(t, "POST", "/customers", `{"name":"A","phone":"13800138000"}`, nil, "rep1", "sales")).ID
		if resp := f.call(t, "GET", "/customers/"+id, "", nil, "rep2", "sales"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another rep's customer: status %d, want 404", resp.StatusCode)
		}
		if resp := f.call(t, "GET", "/customers/"+id, "", nil, "rep1", "sales"); resp.StatusCode != http.StatusOK {
			t.Errorf("own customer: status %d", resp.StatusCode)
		}
	})
	t.Run("AuditorSeesMasked", func(t *testing.T) {
		f := newFakeAPI(t)
		id := decodeBody[customerView](t, f.call(t, "POST", "/customers",
			`{"name":"A","phone":"13800138000","email":"a.person@example.cn","nationalId":"110101199003070011"}`, nil, "root", "admin")).ID
		resp := f.call(t, "GET", "/customers/"+id, "", nil, "aud", "auditor")
		for _, plain := range []string{"13800138000", "a.person@example.cn", "110101199003070011"} {
			if strings.Contains(resp.Body, plain) {
				t.Errorf("auditor read %s unmasked", plain)
			}
		}
	})
	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		f := newFakeAPI(t)
		id := decodeBody[customerView](t, f.call(t, "POST", "/customers", `{"name":"A","phone":"13800138000"}`, nil, "rep1", "sales")).ID
		ok := f.call(t, "PATCH", "/customers/"+id, `{"company":"Acme"}`, map[string]string{"If-Match": `"1"`}, "rep1", "sales")
		if ok.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", ok.StatusCode, ok.Body)
		}
		stale := f.call(t, "PATCH", "/customers/"+id, `{"company":"Other"}`, map[string]string{"If-Match": `"1"`}, "rep1", "sales")
		if stale.StatusCode != http.StatusPreconditionFailed {
			t.Errorf("stale If-Match: status %d, want 412", stale.StatusCode)
		}
	})
	t.Run("ErrRoleMayNotCall", func(t *testing.T) {
		f := newFakeAPI(t)
		if resp := f.call(t, "DELETE", "/customers/c_x", "", nil, "rep1", "sales"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sales erasing: status %d, want 403", resp.StatusCode)
		}
		if resp := f.call(t, "GET", "/customers", "", nil, ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no claims: status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("ErrBadListParameters", func(t *testing.T) {
		f := newFakeAPI(t)
		resp := f.call(t, "GET", "/customers?limit=0&cursor=forged&colour=red", "", nil, "root", "admin")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if fields := strings.Join(problemFields(t, resp), ","); !strings.Contains(fields, "colour") {
			t.Errorf("problem names %q", fields)
		}
	})
}

func TestFastIdempotency(t *testing.T) {
	f := newFakeAPI(t)
	key := map[string]string{"Idempotency-Key": "k-1"}
	first := f.call(t, "POST", "/customers", `{"name":"A","phone":"13800138000"}`, key, "rep1", "sales")
	again := f.call(t, "POST", "/customers", `{"name":"A","phone":"13800138000"}`, key, "rep1", "sales")
	if first.StatusCode != http.StatusCreated || again.StatusCode != http.StatusCreated || first.Body != again.Body {
		t.Fatalf("retry answered %d %q after %d %q", again.StatusCode, again.Body, first.StatusCode, first.Body)
	}
	if other := f.call(t, "POST", "/customers", `{"name":"B","phone":"13900139000"}`, key, "rep1", "sales"); other.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("key reused with another body: status %d, want 422", other.StatusCode)
	}
	all := decodeBody[list[customerView]](t, f.call(t, "GET", "/customers", "", nil, "root", "admin"))
	if len(all.Items) != 1 {
		t.Errorf("%d customers after a retried create, want 1", len(all.Items))
	}
}

func TestFastComplaintRoutes(t *testing.T) {
	f := newFakeAPI(t)
	cid := decodeBody[customerView](t, f.call(t, "POST", "/customers", `{"name":"A","phone":"13800138000"}`, nil, "rep1", "sales")).ID
	resp := f.call(t, "POST", "/complaints", `{"customerId":"`+cid+`","channel":"phone","category":"billing","severity":"high","subject":"Charged twice","description":"Two debits"}`, nil, "agent", "service")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("file: status %d: %s", resp.StatusCode, resp.Body)
	}
	c := decodeBody[struct {
		ID, Status, AssigneeID string
		Version                int64
	}](t, resp)
	if c.Status != "acknowledged" || c.AssigneeID != "rep1" {
		t.Errorf("filed %+v", c)
	}
	if len(f.sent.Sent()) == 0 {
		t.Error("the assignee was not notified")
	}
	t.Run("ErrResolvedNeedsResolution", func(t *testing.T) {
		resp := f.call(t, "POST", "/complaints/"+c.ID+"/transitions", `{"to":"resolved","note":"done"}`, nil, "agent", "service")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(strings.Join(problemFields(t, resp), ","), "resolution") {
			t.Errorf("status %d: %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("ErrIllegalTransition", func(t *testing.T) {
		resp := f.call(t, "POST", "/complaints/"+c.ID+"/transitions", `{"to":"closed","note":"skip"}`, nil, "agent", "service")
		if resp.StatusCode != http.StatusConflict {
			t.Errorf("acknowledged → closed: status %d, want 409", resp.StatusCode)
		}
	})
	t.Run("WalkToClosed", func(t *testing.T) {
		for _, body := range []string{`{"to":"in_progress","note":"on it"}`,
			`{"to":"resolved","note":"refunded","resolution":{"summary":"refund","rootCause":"double charge","remedy":"refund issued"}}`,
			`{"to":"closed","note":"confirmed"}`} {
			if resp := f.call(t, "POST", "/complaints/"+c.ID+"/transitions", body, nil, "agent", "service"); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d: %s", body, resp.StatusCode, resp.Body)
			}
		}
		got := decodeBody[struct {
			Status   string
			Timeline []json.RawMessage
		}](t, f.call(t, "GET", "/complaints/"+c.ID, "", nil, "agent", "service"))
		if got.Status != "closed" || len(got.Timeline) < 4 {
			t.Errorf("status %s with %d timeline entries", got.Status, len(got.Timeline))
		}
	})
	t.Run("ErrFinanceMayNotList", func(t *testing.T) {
		if resp := f.call(t, "GET", "/complaints", "", nil, "fin", "finance"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("finance: status %d, want 403", resp.StatusCode)
		}
	})
}

func TestFastReportAndPortalRoutes(t *testing.T) {
	f := newFakeAPI(t)
	for i := range 3 {
		f.call(t, "POST", "/customers", `{"name":"A","phone":"1380013800`+strconv.Itoa(i)+`"}`, nil, "rep1", "sales")
	}
	rep := decodeBody[struct{ Customers int64 }](t, f.call(t, "GET", "/reports/data-quality", "", nil, "root", "admin"))
	if rep.Customers != 3 {
		t.Errorf("data-quality counts %d customers, want 3", rep.Customers)
	}
	if resp := f.call(t, "GET", "/reports/customers", "", nil, "rep1", "sales"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sales reading customer growth: status %d, want 403", resp.StatusCode)
	}
	for _, token := range []string{"nonsense", "a.b", strings.Repeat("x", 64)} {
		if resp := f.call(t, "GET", "/portal/"+token, "", nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("portal token %q: status %d, want 404", token, resp.StatusCode)
		}
	}
}
