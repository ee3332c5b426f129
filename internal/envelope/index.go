package envelope

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Indexer computes blind indexes: keyed hashes of normalized field values that
// let a sealed field be found by equality without storing it in the clear.
// It is safe for concurrent use.
type Indexer struct {
	key []byte
}

// NewIndexer returns an Indexer keyed by key, which must be 32 bytes. It
// panics otherwise, because a short index key is a configuration bug that must
// not reach production silently.
func NewIndexer(key []byte) *Indexer {
	if len(key) != 32 {
		panic("envelope: index key must be 32 bytes")
	}
	return &Indexer{key: append([]byte(nil), key...)}
}

// Index returns the blind index of normalized for field: unpadded base64url of
// HMAC-SHA256(key, field || 0x00 || normalized). The field name is mixed in so
// equal values of different fields do not match. field must not contain a NUL
// byte (it is a constant in code); Index panics if it does, because the NUL is
// what keeps indexes apart from each other and from Derive.
func (ix *Indexer) Index(field, normalized string) string {
	if strings.IndexByte(field, 0) >= 0 {
		panic("envelope: index field name contains NUL")
	}
	m := hmac.New(sha256.New, ix.key)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(normalized))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Derive returns a 32-byte subkey for purpose (for example a cursor-sealing
// key): HMAC-SHA256(key, "derive:" || purpose). Derive inputs never contain a
// NUL and Index inputs always do, so no index value can equal a derived key.
// purpose must not contain a NUL byte; Derive panics if it does.
func (ix *Indexer) Derive(purpose string) []byte {
	if strings.IndexByte(purpose, 0) >= 0 {
		panic("envelope: derive purpose contains NUL")
	}
	m := hmac.New(sha256.New, ix.key)
	m.Write([]byte("derive:"))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
