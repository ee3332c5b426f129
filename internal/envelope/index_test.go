package envelope

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestIndex(t *testing.T) {
	ix := NewIndexer(testKey(1))

	t.Run("matches the documented construction", func(t *testing.T) {
		m := hmac.New(sha256.New, testKey(1))
		m.Write([]byte("email\x00ada@example.com"))
		want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		if got := ix.Index("email", "ada@example.com"); got != want {
			t.Errorf("Index = %q, want %q", got, want)
		}
	})

	t.Run("is deterministic", func(t *testing.T) {
		a := ix.Index("email", "ada@example.com")
		b := NewIndexer(testKey(1)).Index("email", "ada@example.com")
		if a != b {
			t.Errorf("Index = %q then %q", a, b)
		}
		if len(a) != 43 {
			t.Errorf("len = %d, want 43 (32 bytes unpadded)", len(a))
		}
	})

	tests := []struct {
		name string
		a, b string
	}{
		{"differs per field", ix.Index("email", "x"), ix.Index("phone", "x")},
		{"differs per value", ix.Index("email", "a@example.com"), ix.Index("email", "b@example.com")},
		{"differs per key", ix.Index("email", "x"), NewIndexer(testKey(2)).Index("email", "x")},
		{"differs when the boundary moves", ix.Index("ab", "c"), ix.Index("a", "bc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a == tt.b {
				t.Errorf("both indexes = %q", tt.a)
			}
		})
	}
}

func TestDerive(t *testing.T) {
	ix := NewIndexer(testKey(1))
	cursor := ix.Derive("cursor")

	m := hmac.New(sha256.New, testKey(1))
	m.Write([]byte("derive:cursor"))
	if want := m.Sum(nil); !bytes.Equal(cursor, want) {
		t.Errorf("Derive = %x, want %x", cursor, want)
	}
	if !bytes.Equal(cursor, NewIndexer(testKey(1)).Derive("cursor")) {
		t.Error("Derive is not deterministic")
	}
	if bytes.Equal(cursor, ix.Derive("export")) {
		t.Error("two purposes derive the same key")
	}
	if bytes.Equal(cursor, NewIndexer(testKey(2)).Derive("cursor")) {
		t.Error("two index keys derive the same key")
	}
}

func TestIndexerPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"short key panics", func() { NewIndexer(make([]byte, 16)) }},
		{"NUL in field panics", func() { NewIndexer(testKey(1)).Index("a\x00b", "x") }},
		{"NUL in purpose panics", func() { NewIndexer(testKey(1)).Derive("a\x00b") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.f()
		})
	}
}
