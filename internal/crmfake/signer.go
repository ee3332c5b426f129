package crmfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

var _ crm.TokenSigner = (*Signer)(nil)

// Signer signs portal tokens with HMAC-SHA256 under Key, in the format of
// the DynamoDB store: a tampered token does not open.
type Signer struct {
	Key []byte
}

type token struct {
	Link     string `json:"l"`
	Customer string `json:"c"`
	Expires  int64  `json:"e"`
}

// SignPortal implements crm.TokenSigner.
func (s Signer) SignPortal(linkID, customerID string, expires time.Time) string {
	payload, _ := json.Marshal(token{Link: linkID, Customer: customerID, Expires: expires.Unix()})
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p))
}

// OpenPortal implements crm.TokenSigner.
func (s Signer) OpenPortal(tok string) (string, string, time.Time, bool) {
	p, sig, ok := strings.Cut(tok, ".")
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err != nil || !hmac.Equal(mac, s.mac(p)) {
		return "", "", time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	var t token
	if err != nil || json.Unmarshal(raw, &t) != nil || t.Link == "" || t.Customer == "" {
		return "", "", time.Time{}, false
	}
	return t.Link, t.Customer, time.Unix(t.Expires, 0).UTC(), true
}

func (s Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
