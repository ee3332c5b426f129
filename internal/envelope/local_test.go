package envelope

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestOpenLocalKeyringCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	path := filepath.Join(dir, "keyring.json")
	if _, err := OpenLocalKeyring(path); err != nil {
		t.Fatalf("OpenLocalKeyring: %v", err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("file mode = %v, want 0600", got)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got&0o077 != 0 {
		t.Errorf("dir mode = %v, want no group or other access", got)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list []localKey
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("key file is not a JSON list: %v", err)
	}
	if len(list) != 1 || list[0].Version != 1 || len(list[0].Key) != 32 {
		t.Errorf("key file = %d keys, want one 32-byte key, version 1", len(list))
	}
}

func TestOpenLocalKeyringLoadsExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	a, err := OpenLocalKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	pt, wrapped, err := a.GenerateDataKey(context.Background(), customerCtx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenLocalKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Decrypt(context.Background(), wrapped, customerCtx)
	if err != nil || !bytes.Equal(got, pt) {
		t.Errorf("Decrypt after reopen = %v, want the generated key", err)
	}
}

func TestOpenLocalKeyringConcurrently(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	const n = 16
	krs := make([]*LocalKeyring, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			krs[i], errs[i] = OpenLocalKeyring(path)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "keyring.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %q, want only keyring.json", names)
	}

	// Every opener must be able to unwrap what every other wrapped.
	for i, a := range krs {
		pt, wrapped, err := a.GenerateDataKey(context.Background(), customerCtx)
		if err != nil {
			t.Fatal(err)
		}
		for j, b := range krs {
			got, err := b.Decrypt(context.Background(), wrapped, customerCtx)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("key wrapped by opener %d does not unwrap in opener %d: %v", i, j, err)
			}
		}
	}
}

func TestOpenLocalKeyringRejectsBadFile(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"malformed JSON fails", "{"},
		{"empty list fails", "[]"},
		{"short key fails", `[{"version":1,"key":"AAAA"}]`},
		{"version 0 fails", `[{"version":0,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]`},
		{"repeated version fails", `[{"version":1,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},{"version":1,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenLocalKeyring(path); err == nil {
				t.Error("OpenLocalKeyring succeeded, want an error")
			}
			if got, _ := os.ReadFile(path); string(got) != tt.data {
				t.Error("OpenLocalKeyring replaced a bad key file")
			}
		})
	}
}

func TestRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring.json")
	kr, err := OpenLocalKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	stale, err := OpenLocalKeyring(path) // opened before the rotation
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pt1, w1, err := kr.GenerateDataKey(ctx, customerCtx)
	if err != nil {
		t.Fatal(err)
	}

	if err := kr.Rotate(); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	pt2, w2, err := kr.GenerateDataKey(ctx, customerCtx)
	if err != nil {
		t.Fatal(err)
	}
	if got1, got2 := binary.BigEndian.Uint32(w1[1:]), binary.BigEndian.Uint32(w2[1:]); got1 != 1 || got2 != 2 {
		t.Errorf("wrapped versions = %d, %d, want 1, 2", got1, got2)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file after Rotate: %v, want mode 0600", err)
	}

	reopened, err := OpenLocalKeyring(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		kr      *LocalKeyring
		wrapped []byte
		want    []byte
	}{
		{"old version unwraps after rotate", kr, w1, pt1},
		{"new version unwraps", kr, w2, pt2},
		{"old version unwraps after reopen", reopened, w1, pt1},
		{"new version unwraps after reopen", reopened, w2, pt2},
		{"new version unwraps in a keyring opened before rotate", stale, w2, pt2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.kr.Decrypt(ctx, tt.wrapped, customerCtx)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("Decrypt = %v, want the generated key", err)
			}
		})
	}
}

func TestRotationThroughSealer(t *testing.T) {
	kr := newLocal(t)
	aad := AAD("crm", "CUST#9", "taxId")
	old := itemKey(t, NewSealer(kr, Options{}))
	sealed, err := old.Seal([]byte("GB123456789"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	s := NewSealer(kr, Options{})
	if bytes.Equal(itemKey(t, s).Wrapped()[:localHeader], old.Wrapped()[:localHeader]) {
		t.Error("new data key is wrapped under the old version")
	}
	got, err := openKey(t, s, old.Wrapped()).Open(sealed, aad)
	if err != nil || string(got) != "GB123456789" {
		t.Errorf("Open after Rotate = %q, %v, want the tax id", got, err)
	}
}

func TestLocalDecryptRejects(t *testing.T) {
	kr := newLocal(t)
	ctx := context.Background()
	_, wrapped, err := kr.GenerateDataKey(ctx, customerCtx)
	if err != nil {
		t.Fatal(err)
	}
	unknown := bytes.Clone(wrapped)
	binary.BigEndian.PutUint32(unknown[1:], 99)
	kmsLike := bytes.Clone(wrapped)
	kmsLike[0] = 1

	tests := []struct {
		name    string
		wrapped []byte
		encCtx  map[string]string
	}{
		{"other context fails", wrapped, map[string]string{"table": "crm", "entity": "interaction"}},
		{"nil context fails", wrapped, nil},
		{"truncated fails", wrapped[:len(wrapped)-1], customerCtx},
		{"header only fails", wrapped[:localHeader], customerCtx},
		{"empty fails", nil, customerCtx},
		{"unknown version fails", unknown, customerCtx},
		{"other format fails", kmsLike, customerCtx},
		{"other keyring's key fails", func() []byte { _, w, _ := newLocal(t).GenerateDataKey(ctx, customerCtx); return w }(), customerCtx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kr.Decrypt(ctx, tt.wrapped, tt.encCtx); !errors.Is(err, ErrIntegrity) {
				t.Errorf("Decrypt = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("every flipped byte fails", func(t *testing.T) {
		for i := range wrapped {
			flipped := bytes.Clone(wrapped)
			flipped[i] ^= 0x01
			if _, err := kr.Decrypt(ctx, flipped, customerCtx); !errors.Is(err, ErrIntegrity) {
				t.Errorf("byte %d flipped: err = %v, want ErrIntegrity", i, err)
			}
		}
	})
}

func TestEncodeContextIsCanonical(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]string
		same bool
	}{
		{"nil and empty encode equally", nil, map[string]string{}, true},
		{"equal maps encode equally", map[string]string{"a": "1", "b": "2"}, map[string]string{"b": "2", "a": "1"}, true},
		{"moved boundary differs", map[string]string{"ab": "c"}, map[string]string{"a": "bc"}, false},
		{"key and value swapped differ", map[string]string{"a": "b"}, map[string]string{"b": "a"}, false},
		{"extra pair differs", map[string]string{"a": "b"}, map[string]string{"a": "b", "c": ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytes.Equal(encodeContext(tt.a), encodeContext(tt.b)); got != tt.same {
				t.Errorf("equal encodings = %v, want %v", got, tt.same)
			}
		})
	}
}
