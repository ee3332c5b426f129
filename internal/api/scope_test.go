package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// Findings of the security review about what a caller may learn of data
// outside their scope; each test failed before its fix.

func TestHiddenFieldsCannotBeGuessedThroughPatch(t *testing.T) {
	e := testenv.New(t)
	admin, agent := e.Token("root", "admin"), e.Token("sam", "service")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "billing": map[string]any{"bankAccount": bank}})
	for name, body := range map[string]map[string]any{
		"TrueValue":  {"billing": map[string]any{"bankAccount": bank}},
		"WrongValue": {"billing": map[string]any{"bankAccount": "CN99WRONG0000000000001"}},
	} {
		t.Run("Err"+name, func(t *testing.T) {
			r := patch(e, agent, "/customers/"+id, "", body)
			if r.Status != http.StatusForbidden || !slices.Equal(fieldsOf(t, r), []string{"billing"}) {
				t.Fatalf("status %d %s", r.Status, r.Body)
			}
		})
	}
	t.Run("ErrSalesOwnerIDUnchanged", func(t *testing.T) {
		alice := e.Token("alice", "sales")
		own := mustCreate(e, alice, map[string]any{"name": "Own", "phone": "13900139001"})
		if r := patch(e, alice, "/customers/"+own, "", map[string]any{"ownerId": "alice"}); r.Status != http.StatusForbidden {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})
}

func TestFinanceWritesBillingOnly(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, finance := e.Token("root", "admin"), e.Token("fay", "finance")
	id := mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "nationalId": nationalID})
	if r := patch(e, finance, "/customers/"+id, "", map[string]any{"nationalId": "110101199003079999"}); r.Status != http.StatusForbidden {
		t.Errorf("finance changing the national ID: status %d %s", r.Status, r.Body)
	}
	if r := patch(e, finance, "/customers/"+id, "", map[string]any{"billing": map[string]any{"bankAccount": bank}}); r.Status != http.StatusOK {
		t.Errorf("finance changing billing: status %d %s", r.Status, r.Body)
	}
}

func TestLookupsOnlyForRolesThatReadTheField(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	mustCreate(e, admin, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
	for _, q := range []string{"email=" + emailNorm, "phone=%2B8613800138000"} {
		if r := get(e, e.Token("aud", "auditor"), "/customers?"+q); r.Status != http.StatusForbidden {
			t.Errorf("auditor lookup %s: status %d %s", q, r.Status, r.Body)
		}
		var l struct{ Items []map[string]any }
		if r := get(e, e.Token("sam", "service"), "/customers?"+q); r.Status != http.StatusOK {
			t.Errorf("service lookup %s: status %d", q, r.Status)
		} else if r.JSON(t, &l); len(l.Items) != 1 {
			t.Errorf("service lookup %s found %d", q, len(l.Items))
		}
	}
}

func TestMissingFieldsOnlyOverVisibleFields(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.Policy.Required = []string{"name", "phone", "billing"} }))
	admin := e.Token("root", "admin")
	with := mustCreate(e, admin, map[string]any{"name": "With", "phone": phoneRaw, "billing": map[string]any{"bankAccount": bank}})
	without := mustCreate(e, admin, map[string]any{"name": "Without", "phone": "13900139000"})
	agent := e.Token("sam", "service")
	a, b := get(e, agent, "/customers/"+with).Map(t), get(e, agent, "/customers/"+without).Map(t)
	if a["completeness"] != b["completeness"] || strings.Contains(string(get(e, agent, "/customers/"+without).Body), "billing") {
		t.Errorf("service can tell billing apart: %v / %v; %v / %v", a["completeness"], b["completeness"], a["missingFields"], b["missingFields"])
	}
	if m := get(e, admin, "/customers/"+without).Map(t); !strings.Contains(strings.Join(toStrings(m["missingFields"]), ","), "billing") {
		t.Errorf("admin's missingFields %v lacks billing", m["missingFields"])
	}
}

func TestErasedIsGoneOnlyToThoseWhoCouldSeeIt(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(directWrites))
	admin, alice, bob := e.Token("root", "admin"), e.Token("alice", "sales"), e.Token("bob", "sales")
	id := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw})
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + id, Token: admin}); r.Status != http.StatusNoContent {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	}
	if r := get(e, alice, "/customers/"+id); r.Status != http.StatusGone {
		t.Errorf("owner: status %d, want 410", r.Status)
	}
	if r := get(e, bob, "/customers/"+id); r.Status != http.StatusNotFound {
		t.Errorf("another rep: status %d, want 404", r.Status)
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
