package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestIndexKeyRotation rotates the blind-index key under a running
// service: lookups and duplicate detection work in every phase and after;
// a cursor and a portal token issued before the rotation open until the
// old key is retired, and are then refused as any foreign token is (400
// invalid_cursor, 404); the re-derivation is idempotent.
func TestIndexKeyRotation(t *testing.T) {
	// Every request re-reads the key item, as every process does within
	// a refresh period.
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.KeyRefresh = time.Nanosecond }))
	ctx := context.Background()
	alice, admin := e.Token("alice", "sales"), e.Token("root", "admin")
	rot := e.Services.Table.Rotation()

	a := mustCreate(e, alice, map[string]any{"name": "Li Wei", "phone": phoneRaw, "email": emailRaw})
	mustCreate(e, alice, map[string]any{"name": "Wang Fang", "phone": "13900139000"})
	mustCreate(e, alice, map[string]any{"name": "Zhang Min", "phone": "13700137000"})
	var page struct {
		NextCursor string `json:"nextCursor"`
	}
	get(e, alice, "/customers?limit=1").JSON(t, &page)
	if page.NextCursor == "" {
		t.Fatal("no cursor to carry over the rotation")
	}
	oldCursor := page.NextCursor
	oldLink := portalLink(e, alice, a)

	lookup := func(t *testing.T, query string) []string {
		t.Helper()
		r := get(e, admin, "/customers?"+query)
		if r.Status != 200 {
			t.Fatalf("lookup %s: %d %s", query, r.Status, r.Body)
		}
		var l struct{ Items []struct{ ID string } }
		r.JSON(t, &l)
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	// works checks, in one phase of the rotation, what must hold in all.
	works := func(t *testing.T) {
		t.Helper()
		if ids := lookup(t, "phone="+url.QueryEscape(phoneE164)); len(ids) != 1 || ids[0] != a {
			t.Errorf("lookup by phone found %v, want [%s]", ids, a)
		}
		if r := post(e, alice, "/customers", map[string]any{"name": "Other", "phone": phoneRaw}); r.Status != http.StatusConflict || r.Map(t)["duplicateOf"] != a {
			t.Errorf("duplicate phone: %d %s", r.Status, r.Body)
		}
		if r := get(e, alice, "/customers?limit=1&cursor="+oldCursor); r.Status != 200 {
			t.Errorf("a cursor issued before the rotation: %d %s", r.Status, r.Body)
		}
		if r := get(e, "", oldLink); r.Status != 200 {
			t.Errorf("a link issued before the rotation: %d", r.Status)
		}
	}

	if err := rot.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("Prepared", works)

	if err := rot.Switch(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("Switched", works)
	var moving string
	t.Run("SwitchedWrites", func(t *testing.T) {
		// A new customer is indexed under the new key, and found.
		id := mustCreate(e, alice, map[string]any{"name": "Chen Jie", "phone": "13600136000", "email": "chen.jie@example.org"})
		if ids := lookup(t, "email="+url.QueryEscape("chen.jie@example.org")); len(ids) != 1 || ids[0] != id {
			t.Errorf("lookup of a customer created after the switch: %v", ids)
		}
		// Changing a value indexed under the old key frees it under both.
		r := patch(e, alice, "/customers/"+a, "", map[string]any{"email": "li.wei@example.net"})
		if r.Status != 200 {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		if ids := lookup(t, "email="+url.QueryEscape(emailNorm)); len(ids) != 0 {
			t.Errorf("the old address still finds %v", ids)
		}
		if ids := lookup(t, "email="+url.QueryEscape("li.wei@example.net")); len(ids) != 1 || ids[0] != a {
			t.Errorf("the new address finds %v", ids)
		}
		moving = mustCreate(e, alice, map[string]any{"name": "Li Wei Jr", "email": emailRaw})
		if r := post(e, alice, "/customers", map[string]any{"name": "Chen Two", "phone": "13600136000"}); r.Status != http.StatusConflict {
			t.Errorf("a value claimed under the new key: %d", r.Status)
		}
	})

	// The re-derivation is interrupted after its first page, and resumes
	// where it stopped.
	rot.PageSize = 2
	cut, cancel := context.WithCancel(ctx)
	first, _, err := rot.Migrate(cut, cancelOnWrite{cancel})
	if err == nil {
		t.Fatal("the interrupted re-derivation did not stop")
	}
	if st, err := rot.State(ctx); err != nil || st.Done || st.Phase != "switched" {
		t.Fatalf("state after an interrupted re-derivation: %+v %v", st, err)
	}
	if r := post(e, alice, "/customers", map[string]any{"name": "Other", "phone": phoneRaw}); r.Status != http.StatusConflict {
		t.Errorf("duplicate phone halfway through: %d", r.Status)
	}
	var progress bytes.Buffer
	moved, conflicts, err := rot.Migrate(ctx, &progress)
	if err != nil || conflicts != 0 {
		t.Fatalf("migrate: %d moved, %d conflicts, %v", moved, conflicts, err)
	}
	moved += first
	// The three phones still held under the old key, a claim and a member
	// each; the first customer's address moved when it changed.
	if moved != 6 || progress.Len() == 0 {
		t.Errorf("migrate moved %d entries (want 6), progress %q", moved, progress.String())
	}
	st, err := rot.State(ctx)
	if err != nil || !st.Done || st.Migrated != 5 {
		t.Fatalf("state after migrate: %+v %v", st, err)
	}
	if again, _, err := rot.Migrate(ctx, &progress); err != nil || again != 0 {
		t.Errorf("a second run moved %d (%v), want nothing", again, err)
	}
	t.Run("Migrated", works)

	if err := rot.Retire(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := rot.State(ctx); st.Phase != "" || st.Version != 2 {
		t.Errorf("after retirement: %+v", st)
	}
	t.Run("Retired", func(t *testing.T) {
		if ids := lookup(t, "phone="+url.QueryEscape(phoneE164)); len(ids) != 1 || ids[0] != a {
			t.Errorf("lookup by phone found %v", ids)
		}
		if ids := lookup(t, "email="+url.QueryEscape(emailNorm)); len(ids) != 1 || ids[0] != moving {
			t.Errorf("lookup by email found %v, want [%s]", ids, moving)
		}
		if r := post(e, alice, "/customers", map[string]any{"name": "Other", "phone": phoneRaw}); r.Status != http.StatusConflict || r.Map(t)["duplicateOf"] != a {
			t.Errorf("duplicate phone: %d %s", r.Status, r.Body)
		}
		if r := post(e, alice, "/customers", map[string]any{"name": "Other", "phone": "13900139000"}); r.Status != http.StatusConflict {
			t.Errorf("duplicate of a migrated claim: %d", r.Status)
		}
		if r := get(e, alice, "/customers?limit=1&cursor="+oldCursor); r.Status != 400 || !bytes.Contains(r.Body, []byte("invalid_cursor")) {
			t.Errorf("a cursor of the retired key: %d %s", r.Status, r.Body)
		}
		if r := get(e, "", oldLink); r.Status != 404 {
			t.Errorf("a link of the retired key: %d", r.Status)
		}
		if r := get(e, "", portalLink(e, alice, a)); r.Status != 200 {
			t.Errorf("a link issued after the rotation: %d", r.Status)
		}
	})
}

// cancelOnWrite cancels a context at the first progress line, that is
// once the first page's position is recorded.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	return len(p), nil
}
