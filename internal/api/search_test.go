package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestCustomerSearch: q finds customers by a case-insensitive prefix of
// name or company, within the caller's scope, follows renames and
// erasures, pages, and never leaves a name prefix in the table in the
// clear (testenv checks the table for plaintext at cleanup).
func TestCustomerSearch(t *testing.T) {
	e := testenv.New(t)
	alice, bob, admin := e.Token("alice", "sales"), e.Token("bob", "sales"), e.Token("root", "admin")
	liWei := mustCreate(e, alice, map[string]any{"name": "Li Wei", "company": "Acme", "email": "li.wei@example.com"})
	liang := mustCreate(e, alice, map[string]any{"name": "Liang Qing", "company": "Zeta", "email": "liang@example.com"})
	wang := mustCreate(e, alice, map[string]any{"name": "王芳", "company": "Acme Trading", "email": "wang@example.com"})
	liNa := mustCreate(e, bob, map[string]any{"name": "Li Na", "email": "li.na@example.com"})

	search := func(token, q string) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for {
			r := get(e, token, "/customers?limit=1&q="+url.QueryEscape(q)+cursor)
			if r.Status != http.StatusOK {
				t.Fatalf("q=%q: %d %s", q, r.Status, r.Body)
			}
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				NextCursor string `json:"nextCursor"`
			}
			r.JSON(t, &page)
			for _, c := range page.Items {
				ids = append(ids, c.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(page.NextCursor)
		}
		slices.Sort(ids)
		return ids
	}
	want := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, c := range []struct {
		token, q string
		want     []string
	}{
		{alice, "li", want(liWei, liang)},
		{alice, "LI  w", want(liWei)},
		{alice, "acme", want(liWei, wang)},
		{alice, "王", want(wang)},
		{alice, "liang qing and more", nil},
		{alice, "wei", nil},
		{bob, "li", want(liNa)},
		{admin, "li", want(liWei, liang, liNa)},
	} {
		if got := search(c.token, c.q); !slices.Equal(got, c.want) {
			t.Errorf("q=%q: %v, want %v", c.q, got, c.want)
		}
	}

	cur := get(e, alice, "/customers/"+liWei)
	if r := patch(e, alice, "/customers/"+liWei, cur.Header.Get("ETag"), map[string]any{"name": "Zhou Wei", "company": nil}); r.Status != http.StatusOK {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	if got := search(alice, "li"); !slices.Equal(got, want(liang)) {
		t.Errorf("after the rename, q=li: %v", got)
	}
	if got := search(alice, "zhou"); !slices.Equal(got, want(liWei)) {
		t.Errorf("after the rename, q=zhou: %v", got)
	}
	if r := e.Do(testenv.Request{Method: "DELETE", Path: "/customers/" + wang, Token: admin}); r.Status != http.StatusNoContent && r.Status != http.StatusAccepted {
		t.Fatalf("erase: %d %s", r.Status, r.Body)
	} else if r.Status == http.StatusNoContent {
		if got := search(admin, "王"); len(got) != 0 {
			t.Errorf("after erasure, q=王: %v", got)
		}
	}
	if r := get(e, alice, "/customers?q="+strings.Repeat("x", 101)); r.Status != http.StatusBadRequest {
		t.Errorf("a 101-character query: %d", r.Status)
	}
}
