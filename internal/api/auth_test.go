package api

import (
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestParseGroups(t *testing.T) {
	for in, want := range map[string][]string{
		"[sales service]":      {"sales", "service"},
		`["sales","service"]`:  {"sales", "service"},
		`["admin"]`:            {"admin"},
		"[admin]":              {"admin"},
		"sales,service":        {"sales", "service"},
		"sales, service":       {"sales", "service"},
		"auditor":              {"auditor"},
		"":                     nil,
		"[]":                   nil,
		`[ "finance" , sales]`: {"finance", "sales"},
	} {
		if got := ParseGroups(in); !slices.Equal(got, want) {
			t.Errorf("ParseGroups(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestActorFromClaims(t *testing.T) {
	a, ok := ActorFromClaims(map[string]string{"sub": "u1", "cognito:groups": "[sales superuser admin]"})
	if !ok || a.ID != "u1" || !slices.Equal(a.Roles, []crm.Role{crm.RoleSales, crm.RoleAdmin}) {
		t.Fatalf("got %+v %v: unknown groups must be dropped, known kept", a, ok)
	}
	if _, ok := ActorFromClaims(map[string]string{"cognito:groups": "[admin]"}); ok {
		t.Fatal("a token without sub was accepted")
	}
}
