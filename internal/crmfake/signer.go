package crmfake

import (
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/envelope"
)

var _ crm.TokenSigner = (*Signer)(nil)

// Signer signs portal tokens under Key with the production signer, so the
// domain's tests meet exactly the tokens, and the refusals, of a deployment.
type Signer struct {
	Key []byte
	// Purpose is "" for portal tokens, else the purpose they are signed
	// for, such as "survey".
	Purpose string
}

func (s Signer) tokens() *envelope.PortalTokens {
	t := envelope.NewPortalTokens(s.Key)
	if s.Purpose != "" {
		t = t.ForPurpose(s.Purpose)
	}
	return t
}

// SignPortal implements crm.TokenSigner.
func (s Signer) SignPortal(linkID, customerID string, expires time.Time) string {
	return s.tokens().SignPortal(linkID, customerID, expires)
}

// OpenPortal implements crm.TokenSigner.
func (s Signer) OpenPortal(tok string) (string, string, time.Time, bool) {
	return s.tokens().OpenPortal(tok)
}

// LimitKey implements crm.TokenSigner.
func (s Signer) LimitKey(value string) string { return s.tokens().LimitKey(value) }
