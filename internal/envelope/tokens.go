package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Cursors seals list positions, so that a client can hand a position back
// but can neither read nor forge one. It is safe for concurrent use.
type Cursors struct{ aead cipher.AEAD }

// NewCursors returns Cursors under a 32-byte key, such as
// Indexer.Derive("cursor").
func NewCursors(key []byte) *Cursors {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("envelope: cursor key must be 32 bytes")
	}
	aead, _ := cipher.NewGCM(block)
	return &Cursors{aead: aead}
}

// Seal encrypts and authenticates plain into an opaque, URL-safe token.
func (c *Cursors) Seal(plain []byte) string {
	nonce := make([]byte, c.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return tokenEncoding.EncodeToString(c.aead.Seal(nonce, nonce, plain, nil))
}

// Open returns what token sealed, and false for a token Seal did not make
// under this key, including another spelling of one it made.
func (c *Cursors) Open(token string) ([]byte, bool) {
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) < c.aead.NonceSize()+c.aead.Overhead() {
		return nil, false
	}
	plain, err := c.aead.Open(nil, raw[:c.aead.NonceSize()], raw[c.aead.NonceSize():], nil)
	return plain, err == nil
}

// PortalTokens signs and checks the customer's self-service tokens with
// HMAC-SHA256. It implements crm.TokenSigner. The same machinery signs the
// tokens of other links sent to customers, each under its own purpose (see
// ForPurpose), so that a token made for one kind of link opens no other.
type PortalTokens struct {
	key     []byte
	purpose string
}

// NewPortalTokens returns PortalTokens under key, such as
// Indexer.Derive("portal").
func NewPortalTokens(key []byte) *PortalTokens {
	return &PortalTokens{key: append([]byte(nil), key...)}
}

// ForPurpose returns tokens under the same key that sign and open for
// purpose alone, such as "survey": a portal token is not a survey token,
// nor the other way round. The purpose enters the MAC, not the token, so
// tokens stay as short as the portal's.
func (p *PortalTokens) ForPurpose(purpose string) *PortalTokens {
	return &PortalTokens{key: p.key, purpose: purpose}
}

// MaxPortalToken is the longest string OpenPortal reads. The tokens
// SignPortal makes are a fraction of it; anything longer is refused before
// any decoding, let alone I/O.
const MaxPortalToken = 512

// portalToken is what a portal token carries, signed.
type portalToken struct {
	Link     string `json:"l"`
	Customer string `json:"c"`
	Expires  int64  `json:"e"`
}

// tokenEncoding is unpadded base64url that refuses non-zero trailing bits,
// so each signature has exactly one spelling and a token cannot be varied
// to count as a fresh one against its rate limits.
var tokenEncoding = base64.RawURLEncoding.Strict()

// SignPortal returns the token of a link.
func (p *PortalTokens) SignPortal(linkID, customerID string, expires time.Time) string {
	payload, _ := json.Marshal(portalToken{Link: linkID, Customer: customerID, Expires: expires.Unix()})
	enc := tokenEncoding.EncodeToString(payload)
	return enc + "." + tokenEncoding.EncodeToString(p.mac(enc))
}

// OpenPortal returns the link id, customer id and expiry of a token
// SignPortal made, and false for any other string, including another
// spelling of one it made.
func (p *PortalTokens) OpenPortal(token string) (linkID, customerID string, expires time.Time, ok bool) {
	if len(token) > MaxPortalToken {
		return "", "", time.Time{}, false
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok || len(sig) != tokenEncoding.EncodedLen(sha256.Size) {
		return "", "", time.Time{}, false
	}
	mac, err := tokenEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, p.mac(enc)) {
		return "", "", time.Time{}, false
	}
	raw, err := tokenEncoding.DecodeString(enc)
	var t portalToken
	if err != nil || json.Unmarshal(raw, &t) != nil || t.Link == "" || t.Customer == "" {
		return "", "", time.Time{}, false
	}
	return t.Link, t.Customer, time.Unix(t.Expires, 0).UTC(), true
}

// LimitKey returns a keyed digest of value for a rate limiter to count by,
// so that what it counts (a client address, say) is not stored as is.
func (p *PortalTokens) LimitKey(value string) string {
	// A token's MAC covers base64url text, which never holds a NUL: this
	// input can never be a token payload, nor its digest a signature.
	return tokenEncoding.EncodeToString(p.macRaw("limit\x00" + value)[:16])
}

// mac signs a token payload under the purpose. The portal's tokens, the
// first made, sign the payload alone, so links already sent stay valid;
// any other purpose prefixes its name and a NUL, which base64url text
// never holds, so no two purposes can share a MAC input.
func (p *PortalTokens) mac(payload string) []byte {
	if p.purpose != "" {
		payload = "purpose\x00" + p.purpose + "\x00" + payload
	}
	return p.macRaw(payload)
}

func (p *PortalTokens) macRaw(payload string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
