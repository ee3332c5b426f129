package envelope

import (
	"testing"
	"time"
)

// TestTokenPurposes: a token opens only under the purpose it was signed
// for, so a portal link cannot be answered as a survey, nor a survey link
// open a customer's contact details.
func TestTokenPurposes(t *testing.T) {
	portal := NewPortalTokens([]byte("purpose-test-key"))
	survey := portal.ForPurpose("survey")
	other := portal.ForPurpose("other")
	exp := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	signers := map[string]*PortalTokens{"portal": portal, "survey": survey, "other": other}
	for signName, signer := range signers {
		tok := signer.SignPortal("x_1", "c_1", exp)
		for openName, opener := range signers {
			link, customer, expires, ok := opener.OpenPortal(tok)
			if want := signName == openName; ok != want {
				t.Errorf("%s token opened by %s: ok %v, want %v", signName, openName, ok, want)
				continue
			}
			if ok && (link != "x_1" || customer != "c_1" || !expires.Equal(exp)) {
				t.Errorf("%s token opened as %q %q %v", signName, link, customer, expires)
			}
		}
	}
	// The portal signs as it did before purposes existed: links already
	// sent keep working.
	enc := "eyJsIjoicCJ9"
	if got, want := string(portal.mac(enc)), string(portal.macRaw(enc)); got != want {
		t.Error("the portal's MAC changed")
	}
}
