// Package envelope seals sensitive customer fields with envelope encryption
// before they reach DynamoDB: each item's fields are encrypted with a data key,
// and the data key is stored wrapped by a Keyring (KMS in AWS, a local key file
// in development). It also computes blind indexes so sealed fields can still
// be looked up by equality.
//
// Nothing in this package puts plaintext, personal data or key material into
// an error message.
package envelope

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
)

// ErrIntegrity reports that sealed data or a wrapped key failed its
// authenticity check: it was altered, truncated, moved to another item or
// field, or belongs to another key.
var ErrIntegrity = errors.New("integrity check failed")

// ErrUnavailable reports that the keyring could not be reached or refused the
// call for a reason that may pass (throttling, access, an outage), so the API
// can answer 503.
var ErrUnavailable = errors.New("keyring unavailable")

// Keyring produces and unwraps data keys. The caller owns the slices a
// Keyring returns: Sealer clears plaintext keys once it has built a cipher.
type Keyring interface {
	// GenerateDataKey returns a new 256-bit data key in plaintext and wrapped.
	GenerateDataKey(ctx context.Context, encCtx map[string]string) (plaintext, wrapped []byte, err error)
	// Decrypt unwraps a data key produced by GenerateDataKey with the same encCtx.
	Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error)
}

// dataKeySize is the size of every data key: AES-256.
const dataKeySize = 32

// aadVersion is the format version bound into every field's associated data,
// so a future change of layout cannot be confused with this one.
const aadVersion = 1

// AAD returns the associated data that binds a sealed field to its logical
// table, item key and field name, so a ciphertext copied to another item or
// attribute fails to open. Each part is length-prefixed, so ("a", "bc") and
// ("ab", "c") differ.
func AAD(table, itemKey, field string) []byte {
	b := make([]byte, 0, 1+12+len(table)+len(itemKey)+len(field))
	b = append(b, aadVersion)
	b = appendString(b, table)
	b = appendString(b, itemKey)
	b = appendString(b, field)
	return b
}

// encodeContext returns a canonical encoding of an encryption context: the
// pair count, then each key and value length-prefixed, in key order. Equal
// maps always encode equally and distinct maps never do.
func encodeContext(encCtx map[string]string) []byte {
	keys := make([]string, 0, len(encCtx))
	n := 4
	for k, v := range encCtx {
		keys = append(keys, k)
		n += 8 + len(k) + len(v)
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, encCtx[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
