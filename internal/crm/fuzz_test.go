package crm_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/crmfake"
	"github.com/clientele-crm/clientele/internal/phone"
)

// FuzzStandardize: whatever a client writes, the standardizer answers a
// standard form or an EINVALID naming fields, never a panic or another
// error; its standard form is a fixed point; and its errors never repeat
// the values they refuse.
func FuzzStandardize(f *testing.F) {
	f.Add("Li Wei", "138 0013 8000", "Li@Example.org", "1 Main St", "cn", "VIP", "110101199003077777", "6222020200112233445")
	f.Add("  ", "+86 (139) 0013-9000", "", "", "", "", "", "")
	f.Add("Ｌｉ\u00a0Wei", "+1 202 555 0100", "a@b", "\x00", "ZZ", "a,b", "x", "ab")
	f.Add(strings.Repeat("名", 201), "tel:+8613800138000", "bad email@x.cn", "", "CN", "-tag", "1234", "GB82WEST12345698765432")
	policy := crm.DefaultPolicy(phone.E164)
	f.Fuzz(func(t *testing.T, name, tel, email, line1, country, tag, nationalID, account string) {
		in := crm.CustomerInput{Name: name, Phone: tel, Email: email, Tags: []string{tag}, NationalID: nationalID}
		if line1 != "" || country != "" {
			in.Address = &crm.Address{Line1: line1, Country: country}
		}
		if account != "" {
			in.Billing = &crm.Billing{BankAccount: account}
		}
		out, err := policy.Standardize(in)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("refused with %v, want EINVALID", err)
			}
			for _, v := range []string{tel, email, nationalID, account} {
				if len(v) >= 16 && strings.Contains(err.Error(), v) {
					t.Fatalf("the error repeats a refused value: %v", err)
				}
			}
			return
		}
		again, err := policy.Standardize(out)
		if err != nil || !reflect.DeepEqual(again, out) {
			t.Fatalf("standard form %+v is not a fixed point: %+v, %v", out, again, err)
		}
	})
}

// FuzzPortalToken: any string as a portal token is refused as a link that
// is not valid (or, past the limits, throttled), and only the exact token
// issued opens the link.
func FuzzPortalToken(f *testing.F) {
	_, c, l := portalWorld(f)
	tok := token(l)
	f.Add(tok)
	f.Add(tok + "=")
	f.Add(strings.ToUpper(tok))
	f.Add(respell(tok))
	f.Add("")
	f.Add(".")
	f.Add(strings.Repeat("A", 3000))
	signer := crmfake.Signer{Key: []byte("portal-test-key")}
	f.Add(signer.SignPortal(l.ID, c.ID, start.Add(-time.Hour)))
	f.Add(signer.SignPortal(l.ID, "c_"+strings.Repeat("x", 600), l.ExpiresAt))
	f.Fuzz(func(t *testing.T, s string) {
		// Limits are not what this target explores: each input meets a
		// fresh world, whose ids and clock make the same token.
		w, _, _ := portalWorld(t)
		_, err := w.portal.View(ctx, s, addr)
		switch code := crm.ErrorCode(err); {
		case s == tok && err != nil:
			t.Fatalf("the issued token was refused: %v", err)
		case s != tok && code != crm.ENOTFOUND:
			t.Fatalf("token %q: %v, want ENOTFOUND", s, err)
		}
	})
}
