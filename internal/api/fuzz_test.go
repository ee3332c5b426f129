package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The fuzz targets hold the edges of the API to one rule: whatever a client
// sends, no panic, and every refusal is a 4xx problem. Their seed corpora
// under testdata/fuzz run as ordinary tests; `make fuzz` explores further.

// wantClientError fails unless err is nil or maps to a 4xx status.
func wantClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if status := statusOf[crm.ErrorCode(err)]; status < 400 || status > 499 {
		t.Fatalf("refused with status %d (%v), want a 4xx", status, err)
	}
}

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"name":"Li Wei","phone":"13800138000"}`, `{"address":{"line1":1}}`, `{"tags":[1,2]}`, `{"id":"x"}`, `[]`, `null`, `{"consent":{"reminders":"yes"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in crm.CustomerInput
		wantClientError(t, decodeStrict(body, &in, customerReadOnly...))
		var k crm.ComplaintInput
		wantClientError(t, decodeStrict(body, &k, complaintReadOnly...))
		var i crm.InteractionInput
		wantClientError(t, decodeStrict(body, &i))
	})
}

func FuzzMergePatch(f *testing.F) {
	for _, s := range []string{`{"company":"X"}`, `{"address":null}`, `{"address":{"city":"Hangzhou"}}`, `{"billing":{"taxId":null}}`, `{"tags":null}`, `[1]`, `"x"`, `{"consent":{"marketing":true}}`} {
		f.Add([]byte(s))
	}
	cur := crm.CustomerInput{Name: "Li Wei", Phone: "+8613800138000", Email: "li@example.org",
		Address: &crm.Address{Line1: "1 Main St", City: "Shanghai", Country: "CN"}, Tags: []string{"vip"},
		Billing: &crm.Billing{BankAccount: "6222020200112233445", TaxID: "91310000MA1FL0000X"}, Consent: &crm.Consent{Reminders: true}}
	f.Fuzz(func(t *testing.T, patch []byte) {
		out, err := patchInput(cur, patch, customerReadOnly...)
		wantClientError(t, err)
		if err != nil {
			return
		}
		// A patch that is an object of members leaves every member it
		// does not name as it was.
		var members map[string]json.RawMessage
		if json.Unmarshal(patch, &members) == nil {
			if _, named := members["name"]; !named && out.Name != cur.Name {
				t.Fatalf("name changed to %q by a patch that does not name it", out.Name)
			}
			if _, named := members["billing"]; !named && (out.Billing == nil || *out.Billing != *cur.Billing) {
				t.Fatalf("billing changed by a patch that does not name it")
			}
		}
	})
}

func FuzzParseGroups(f *testing.F) {
	for _, s := range []string{"[sales service]", `["sales","service"]`, `["sales,admin"]`, `["\"admin\""]`, `["x admin"]`, "[]", "", "[true]", `[null]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, claim string) {
		groups, err := ParseGroups(claim)
		if err != nil {
			if crm.ErrorCode(err) != crm.EUNAUTHORIZED {
				t.Fatalf("refused with %v, want EUNAUTHORIZED", err)
			}
			return
		}
		for _, g := range groups {
			if !ValidGroupName(g) {
				t.Fatalf("%q read a group %q that no token can hold", claim, g)
			}
		}
		// What was read is what either encoding of it reads as.
		for _, enc := range []string{"[" + strings.Join(groups, " ") + "]", mustJSON(groups)} {
			again, err := ParseGroups(enc)
			if err != nil || strings.Join(again, "\x00") != strings.Join(groups, "\x00") {
				t.Fatalf("%q read %q, but its encoding %q reads %q, %v", claim, groups, enc, again, err)
			}
		}
	})
}

func mustJSON(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
