package envelope

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzCursorOpen: any string handed back as a cursor opens only if this key
// sealed it, and never panics.
func FuzzCursorOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	c := NewCursors(key)
	const position = `{"k":{"PK":"CUST#c_1"},"f":"AAAAAAAAAAA="}`
	sealed := c.Seal([]byte(position))
	f.Add(sealed)
	f.Add(sealed + "A")
	f.Add(sealed[:len(sealed)-1])
	f.Add("")
	f.Add("====")
	f.Add(NewCursors(bytes.Repeat([]byte{8}, 32)).Seal([]byte("x")))
	f.Fuzz(func(t *testing.T, token string) {
		plain, ok := c.Open(token)
		// Only Seal's output opens, in its one spelling: anything else
		// would have to break AES-GCM. (Each fuzzing worker seals afresh,
		// under a new nonce: compare what opened, not the string.)
		if ok && (string(plain) != position || tokenEncoding.EncodeToString(mustDecode(t, token)) != token) {
			t.Fatalf("cursor %q opened as %q", token, plain)
		}
	})
}

// FuzzOpenPortal: any string as a portal token is refused unless it is,
// byte for byte, the token SignPortal makes for what it carries.
func FuzzOpenPortal(f *testing.F) {
	p := NewPortalTokens([]byte("portal-fuzz-key"))
	exp := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	tok := p.SignPortal("p_1", "c_1", exp)
	f.Add(tok)
	f.Add(tok + "=")
	f.Add(strings.Replace(tok, ".", "..", 1))
	f.Add(tok[:len(tok)-1] + "B")
	f.Add(strings.Repeat("a", MaxPortalToken+1))
	f.Add(".")
	f.Add(NewPortalTokens([]byte("other")).SignPortal("p_1", "c_1", exp))
	f.Fuzz(func(t *testing.T, s string) {
		link, customer, expires, ok := p.OpenPortal(s)
		if !ok {
			return
		}
		if len(s) > MaxPortalToken {
			t.Fatalf("a token of %d bytes opened", len(s))
		}
		// Only the canonical spelling opens: the payload re-signed must
		// give back the very string.
		enc, _, _ := strings.Cut(s, ".")
		if again := enc + "." + tokenEncoding.EncodeToString(p.mac(enc)); again != s {
			t.Fatalf("%q opened but is not the canonical %q", s, again)
		}
		if link == "" || customer == "" || expires.IsZero() {
			t.Fatalf("%q opened as %q %q %v", s, link, customer, expires)
		}
	})
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := tokenEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q opened but does not decode: %v", s, err)
	}
	return b
}
