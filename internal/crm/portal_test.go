package crm_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
)

const addr = "203.0.113.7"

func portalWorld(tb testing.TB) (*world, crm.Customer, crm.PortalLink) {
	tb.Helper()
	w := newWorld(tb)
	c := w.customer(tb, rep1, crm.CustomerInput{Name: "Li Wei", Phone: phoneA, Email: "li@x.cn", Company: "Acme",
		Address: &crm.Address{Line1: "1 Main St", Country: "CN"}, NationalID: "110101199003077777"})
	l, err := w.portal.CreateLink(ctx, rep1, c.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return w, c, l
}

func TestPortalLink(t *testing.T) {
	w, c, l := portalWorld(t)
	t.Run("Created", func(t *testing.T) {
		if !strings.HasPrefix(l.URL, "https://portal.example/self-service#") || strings.Contains(l.URL, "##") || !l.ExpiresAt.Equal(start.Add(7*24*time.Hour)) || l.CustomerID != c.ID {
			t.Errorf("link %+v", l)
		}
		if a := w.lastAudit(t); a.Action != "customer.portal_link" || a.EntityID != c.ID || a.Actor != "rep1" {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("ConfiguredTTL", func(t *testing.T) {
		w.portal.TTL = time.Hour
		defer func() { w.portal.TTL = 0 }()
		l, err := w.portal.CreateLink(ctx, admin, c.ID)
		if err != nil || !l.ExpiresAt.Equal(start.Add(time.Hour)) {
			t.Errorf("link %+v, %v", l, err)
		}
	})
	t.Run("ErrOtherRepsCustomer", func(t *testing.T) {
		_, err := w.portal.CreateLink(ctx, rep2, c.ID)
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("ErrErasedCustomer", func(t *testing.T) {
		gone := w.customer(t, rep1, crm.CustomerInput{Name: "Gone", Phone: phoneC})
		if err := w.customers.Erase(ctx, admin, gone.ID); err != nil {
			t.Fatal(err)
		}
		_, err := w.portal.CreateLink(ctx, admin, gone.ID)
		wantErr(t, err, crm.EGONE)
	})
	t.Run("ViewShowsContactDetailsOnly", func(t *testing.T) {
		v, err := w.portal.View(ctx, token(l), addr)
		if err != nil {
			t.Fatal(err)
		}
		if v.Name != "Li Wei" || v.Phone != phoneAE164 || v.Email != "li@x.cn" || v.Address == nil || v.Address.Line1 != "1 Main St" {
			t.Errorf("view %+v", v)
		}
	})
}

func TestPortalUpdate(t *testing.T) {
	t.Run("AppliedVerifiedAndUsedUp", func(t *testing.T) {
		w, c, l := portalWorld(t)
		w.clock.Advance(time.Hour)
		v, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Phone: ptr(phoneB), RemoveAddress: true})
		if err != nil {
			t.Fatal(err)
		}
		if v.Phone != phoneBE164 || v.Address != nil || v.Email != "li@x.cn" {
			t.Errorf("view after update %+v", v)
		}
		got, _ := w.store.Customers.GetCustomer(ctx, c.ID)
		now := start.Add(time.Hour)
		if got.Version != 2 || !got.VerifiedAt.Equal(now) || !got.ReviewDueAt.Equal(now.Add(180*24*time.Hour)) || got.Company != "Acme" || got.NationalID != c.NationalID {
			t.Errorf("stored %+v", got)
		}
		a := w.lastAudit(t)
		if a.Action != "customer.portal_update" || a.Actor != "customer:"+c.ID || strings.Join(a.ChangedFields, ",") != "phone,address,verifiedAt" {
			t.Errorf("audit %+v", a)
		}
		_, err = w.portal.View(ctx, token(l), addr)
		wantErr(t, err, crm.ENOTFOUND)
		if h := w.store.Customers.ClaimHolder(crm.FieldPhone, phoneAE164); h != "" {
			t.Errorf("the old phone is still claimed by %q", h)
		}
	})
	t.Run("ErrReusedLink", func(t *testing.T) {
		w, _, l := portalWorld(t)
		if _, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("new@x.cn")}); err != nil {
			t.Fatal(err)
		}
		_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("other@x.cn")})
		wantErr(t, err, crm.ENOTFOUND)
	})
	t.Run("ConcurrentUsesOneWins", func(t *testing.T) {
		w, _, l := portalWorld(t)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("new@x.cn")})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch crm.ErrorCode(err) {
			case "":
				won++
			case crm.ENOTFOUND, crm.EPRECONDITION:
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d uses of one link succeeded, want 1", won)
		}
	})
	for _, tt := range []struct {
		name   string
		in     crm.PortalInput
		code   string
		fields []string
	}{
		{"ErrInvalidChangeLeavesLinkUsable", crm.PortalInput{Email: ptr("not-an-email")}, crm.EINVALID, []string{"email"}},
		{"ErrRemovingLastContact", crm.PortalInput{Phone: ptr(""), Email: ptr("")}, crm.EINVALID, []string{"phone", "email"}},
		{"ErrMaskedValue", crm.PortalInput{Phone: ptr("••••••••8000")}, crm.EINVALID, []string{"phone"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, c, l := portalWorld(t)
			_, err := w.portal.Update(ctx, token(l), addr, tt.in)
			wantFields(t, err, tt.code, tt.fields...)
			if got, _ := w.store.Customers.GetCustomer(ctx, c.ID); got.Version != 1 {
				t.Errorf("refused change stored version %d", got.Version)
			}
			if _, err := w.portal.View(ctx, token(l), addr); err != nil {
				t.Errorf("a refused change used the link up: %v", err)
			}
		})
	}
	t.Run("ErrDuplicateNamesNoOne", func(t *testing.T) {
		w, _, l := portalWorld(t)
		other := w.customer(t, rep2, crm.CustomerInput{Name: "Other", Phone: phoneB})
		_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Phone: ptr(phoneB)})
		e := wantErr(t, err, crm.ECONFLICT)
		if e.DuplicateOf != "" || strings.Contains(e.Message, other.ID) || strings.Contains(e.Message, "phone") || len(e.Fields) != 0 {
			t.Errorf("duplicate error %+v: want neither the field nor the other customer", e)
		}
		if _, err := w.portal.View(ctx, token(l), addr); err != nil {
			t.Errorf("a refused duplicate used the link up: %v", err)
		}
	})
	t.Run("ErrLostRaceLeavesLinkUsable", func(t *testing.T) {
		w, c, l := portalWorld(t)
		w.store.Before = func(op string) error {
			if op != "UpdateCustomerByLink" {
				return nil
			}
			_, err := w.customers.Update(ctx, admin, c.ID, nil, rename("Staff Edit"))
			return err
		}
		_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("new@x.cn")})
		wantErr(t, err, crm.EPRECONDITION)
		w.store.Before = nil
		v, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("new@x.cn")})
		if err != nil || v.Name != "Staff Edit" || v.Email != "new@x.cn" {
			t.Errorf("retry %+v, %v", v, err)
		}
	})
}

func TestPortalRefusedLinks(t *testing.T) {
	w, c, l := portalWorld(t)
	signer := crmfake.Signer{Key: []byte("portal-test-key")}
	other := crmfake.Signer{Key: []byte("another-key")}
	tok := token(l)
	for _, tt := range []struct {
		name  string
		token string
	}{
		{"ErrTampered", tok[:len(tok)-2] + "xx"},
		{"ErrGarbage", "not-a-token"},
		{"ErrForged", other.SignPortal(l.ID, c.ID, l.ExpiresAt)},
		{"ErrUnknownLink", signer.SignPortal("p_nope", c.ID, l.ExpiresAt)},
		{"ErrOtherCustomer", signer.SignPortal(l.ID, "c_other", l.ExpiresAt)},
		{"ErrTokenExpired", signer.SignPortal(l.ID, c.ID, start)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.portal.View(ctx, tt.token, addr)
			e := wantErr(t, err, crm.ENOTFOUND)
			if e.Message != "this link is not valid; ask for a new one" {
				t.Errorf("message %q: every refused link must look alike", e.Message)
			}
		})
	}
	t.Run("ErrExpired", func(t *testing.T) {
		w.clock.Set(l.ExpiresAt)
		_, err := w.portal.View(ctx, tok, addr)
		wantErr(t, err, crm.ENOTFOUND)
		w.clock.Set(l.ExpiresAt.Add(-time.Second))
		if _, err := w.portal.View(ctx, tok, addr); err != nil {
			t.Errorf("a link a second before expiry was refused: %v", err)
		}
	})
	t.Run("ErrRevokedByErasure", func(t *testing.T) {
		if err := w.customers.Erase(ctx, admin, c.ID); err != nil {
			t.Fatal(err)
		}
		_, err := w.portal.View(ctx, tok, addr)
		wantErr(t, err, crm.ENOTFOUND)
	})
}

func TestPortalRateLimits(t *testing.T) {
	t.Run("PerToken", func(t *testing.T) {
		w, _, l := portalWorld(t)
		for i := 1; i <= crm.PortalPerToken; i++ {
			if _, err := w.portal.View(ctx, token(l), "10.0.0."+string(rune('0'+i%10))); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		_, err := w.portal.View(ctx, token(l), "10.9.9.9")
		wantErr(t, err, crm.ETHROTTLED)
		w.clock.Advance(time.Hour)
		if _, err := w.portal.View(ctx, token(l), addr); err != nil {
			t.Errorf("the next hour is still throttled: %v", err)
		}
	})
	t.Run("PerAddress", func(t *testing.T) {
		w, c, _ := portalWorld(t)
		// Enough valid links that no single one reaches its own limit.
		var links []crm.PortalLink
		for range crm.PortalPerAddress/crm.PortalPerToken + 1 {
			l, err := w.portal.CreateLink(ctx, rep1, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			links = append(links, l)
		}
		for i := range crm.PortalPerAddress {
			if _, err := w.portal.View(ctx, token(links[i/crm.PortalPerToken]), addr); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		_, err := w.portal.View(ctx, token(links[len(links)-1]), addr)
		wantErr(t, err, crm.ETHROTTLED)
		if _, err := w.portal.View(ctx, token(links[len(links)-1]), "198.51.100.1"); err != nil {
			t.Errorf("another address was throttled: %v", err)
		}
	})
	t.Run("CheapRejectionFirst", func(t *testing.T) {
		w, c, l := portalWorld(t)
		var ops []string
		w.store.Before = func(op string) error { ops = append(ops, op); return nil }
		signer := crmfake.Signer{Key: []byte("portal-test-key")}
		for name, tok := range map[string]string{
			"BadSignature":      token(l)[:len(token(l))-2] + "xx",
			"Garbage":           "guess-a.b",
			"TooLong":           token(l) + strings.Repeat("A", 4<<10),
			"Expired":           signer.SignPortal(l.ID, c.ID, start.Add(-time.Second)),
			"NonCanonicalSig":   respell(token(l)),
			"TrailingSeparator": token(l) + ".",
		} {
			ops = ops[:0]
			_, err := w.portal.View(ctx, tok, addr)
			wantErr(t, err, crm.ENOTFOUND)
			if len(ops) != 0 {
				t.Errorf("%s: a token refused on its face reached the store: %v", name, ops)
			}
		}
		// Once a limit is spent, this process turns the client away
		// without another write.
		w.store.Before = nil
		for range crm.PortalPerToken {
			if _, err := w.portal.View(ctx, token(l), addr); err != nil {
				t.Fatal(err)
			}
		}
		w.store.Before = func(op string) error { ops = append(ops, op); return nil }
		ops = ops[:0]
		for range 5 {
			_, err := w.portal.View(ctx, token(l), addr)
			wantErr(t, err, crm.ETHROTTLED)
		}
		if n := len(ops); n > 2 {
			t.Errorf("5 throttled requests made %d store writes (%v), want at most the first's", n, ops)
		}
	})
	t.Run("KeysHoldNoTokenNorAddress", func(t *testing.T) {
		w, _, l := portalWorld(t)
		if _, err := w.portal.View(ctx, token(l), addr); err != nil {
			t.Fatal(err)
		}
		keys := w.store.Portal.RateKeys()
		if len(keys) == 0 {
			t.Fatal("nothing was counted")
		}
		sig := token(l)[strings.IndexByte(token(l), '.')+1:]
		for _, k := range keys {
			if strings.Contains(k, sig) || strings.Contains(k, token(l)[:20]) || strings.Contains(k, addr) {
				t.Errorf("rate-limit key %q holds the token or the client address", k)
			}
		}
	})
	t.Run("UpdatesCountToo", func(t *testing.T) {
		w, _, l := portalWorld(t)
		_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("bad")})
		wantErr(t, err, crm.EINVALID)
		for i := 2; i <= crm.PortalPerToken; i++ {
			if _, err := w.portal.View(ctx, token(l), addr); err != nil {
				t.Fatalf("view %d: %v", i, err)
			}
		}
		// Within the link's budget of corrections, but over its hour.
		_, err = w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("good@x.cn")})
		wantErr(t, err, crm.ETHROTTLED)
	})
}

func TestPortalUpdateBudget(t *testing.T) {
	w, _, l := portalWorld(t)
	w.customer(t, rep2, crm.CustomerInput{Name: "Other", Phone: phoneB})
	// Each probe for someone else's contact uses up one of the link's
	// corrections, whatever the answer.
	for range crm.PortalUpdatesPerLink {
		_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Phone: ptr(phoneB)})
		wantErr(t, err, crm.ECONFLICT)
		w.clock.Advance(time.Hour)
	}
	_, err := w.portal.Update(ctx, token(l), addr, crm.PortalInput{Phone: ptr(phoneB)})
	wantErr(t, err, crm.ETHROTTLED)
	// Not even a change that would succeed, days later.
	w.clock.Advance(3 * 24 * time.Hour)
	_, err = w.portal.Update(ctx, token(l), addr, crm.PortalInput{Email: ptr("new@x.cn")})
	wantErr(t, err, crm.ETHROTTLED)
	if _, err := w.portal.View(ctx, token(l), addr); err != nil {
		t.Errorf("the link can no longer be viewed: %v", err)
	}
}

// respell gives a token's signature another spelling of the same bytes: the
// last character of unpadded base64 carries two unused bits.
func respell(tok string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	return tok[:len(tok)-1] + string(alphabet[last^1])
}
