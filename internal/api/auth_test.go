package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestParseGroups(t *testing.T) {
	for in, want := range map[string][]string{
		"[sales service]":     {"sales", "service"},
		`["sales","service"]`: {"sales", "service"},
		`["admin"]`:           {"admin"},
		"[admin]":             {"admin"},
		`[true]`:              {"true"},
		"":                    nil,
		"[]":                  nil,
	} {
		got, err := ParseGroups(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseGroups(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		// Each of these once read as admin.
		`["sales,admin"]`, `["\"admin\""]`, `["x admin"]`, "[sales,admin]",
		// Forms API Gateway never produces.
		"sales,service", "sales, service", "auditor", `[ "finance" , sales]`, "[sales  service]", "[ admin]",
		"[admin ]", "[sales\tadmin]", `[\"admin\"]`, "[[admin]]", `["admin",1]`, `{"0":"admin"}`, "[admin", "admin]",
		`["admin\u0000"]`, "[" + strings.Repeat("a", 129) + "]", "[" + strings.Repeat("sales ", 1000) + "admin]",
	} {
		if got, err := ParseGroups(in); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			t.Errorf("ParseGroups(%q) = %q, %v; want EUNAUTHORIZED", in, got, err)
		}
	}
}

// TestParseGroupsProperty encodes random group lists as API Gateway would
// and checks that parsing gives back exactly the list or refuses it, so no
// encoding of names that are not roles can read as a role.
func TestParseGroupsProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2026))
	// Separators and quotes are over-represented: they are what an
	// escalation would be made of.
	alphabet := []string{"a", "d", "m", "i", "n", "s", "l", "e", "-", "_", ".", "é", "字", ",", `"`, "[", "]", `\`, " ", "\t", "admin", "sales"}
	name := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 20000 {
		groups := make([]string, rng.IntN(4))
		for j := range groups {
			groups[j] = name()
		}
		valid := !slices.ContainsFunc(groups, func(g string) bool { return !ValidGroupName(g) })

		js, _ := json.Marshal(groups)
		got, err := ParseGroups(string(js))
		switch {
		case valid && (err != nil || !slices.Equal(got, nilIfEmpty(groups))):
			t.Fatalf("case %d: JSON %s parsed as %q, %v; want %q", i, js, got, err, groups)
		case !valid && err == nil:
			t.Fatalf("case %d: JSON %s with a name that is not a group parsed as %q", i, js, got)
		}

		// The user pool holds no name with white space or a quote (the
		// stack creates only the roles, the local identity provider
		// refuses to mint others): within that, the stringified form must
		// parse exactly or be refused.
		if slices.ContainsFunc(groups, func(g string) bool { return strings.ContainsAny(g, " \t\"") }) {
			continue
		}
		str := "[" + strings.Join(groups, " ") + "]"
		got, err = ParseGroups(str)
		switch {
		case valid && (err != nil || !slices.Equal(got, nilIfEmpty(groups))):
			t.Fatalf("case %d: %q parsed as %q, %v; want %q", i, str, got, err, groups)
		case !valid && err == nil:
			t.Fatalf("case %d: %q with a name that is not a group parsed as %q", i, str, got)
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestActorFromClaims(t *testing.T) {
	a, err := ActorFromClaims(map[string]string{"sub": "u1", "cognito:groups": "[sales superuser admin sales]"})
	if err != nil || a.ID != "u1" || !slices.Equal(a.Roles, []crm.Role{crm.RoleSales, crm.RoleAdmin}) {
		t.Fatalf("got %+v %v: unknown groups must be dropped, known kept once", a, err)
	}
	if _, err := ActorFromClaims(map[string]string{"cognito:groups": "[admin]"}); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
		t.Fatalf("a token without sub: %v", err)
	}
	if a, err := ActorFromClaims(map[string]string{"sub": "u1"}); err != nil || len(a.Roles) != 0 {
		t.Fatalf("a user in no group: %+v %v", a, err)
	}
}

// TestUnreadableGroupsClaimIs401 drives the function the way API Gateway
// does: a groups claim it cannot read exactly is a 401 problem, never a
// role.
func TestUnreadableGroupsClaimIs401(t *testing.T) {
	h := NewHandler(Services{Customers: &crm.Customers{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, FnCustomers, CustomersRoutes())
	for _, groups := range []string{`["sales,admin"]`, `["\"admin\""]`, `["x admin"]`, "[sales,admin]", "admin"} {
		ev := events.APIGatewayV2HTTPRequest{
			RouteKey: "GET /audit", RawPath: "/audit",
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "r1", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/audit"},
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
					Claims: map[string]string{"sub": "mallory", "cognito:groups": groups},
				}},
			},
		}
		resp, err := h.Invoke(context.Background(), ev)
		if err != nil || resp.StatusCode != 401 || resp.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("groups %s: %d %q %v, want a 401 problem", groups, resp.StatusCode, resp.Headers["Content-Type"], err)
		}
		if strings.Contains(resp.Body, groups) {
			t.Errorf("groups %s: the answer echoes the claim: %s", groups, resp.Body)
		}
	}
}
