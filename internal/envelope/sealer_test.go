package envelope

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var customerCtx = map[string]string{"table": "crm", "entity": "customer"}

// countingKeyring counts calls per method of the keyring it wraps.
type countingKeyring struct {
	Keyring
	generates, decrypts atomic.Int64
}

func (c *countingKeyring) GenerateDataKey(ctx context.Context, encCtx map[string]string) ([]byte, []byte, error) {
	c.generates.Add(1)
	return c.Keyring.GenerateDataKey(ctx, encCtx)
}

func (c *countingKeyring) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	c.decrypts.Add(1)
	return c.Keyring.Decrypt(ctx, wrapped, encCtx)
}

func newLocal(t testing.TB) *LocalKeyring {
	t.Helper()
	kr, err := OpenLocalKeyring(filepath.Join(t.TempDir(), "keyring.json"))
	if err != nil {
		t.Fatalf("OpenLocalKeyring: %v", err)
	}
	return kr
}

func newCounting(t testing.TB) *countingKeyring {
	return &countingKeyring{Keyring: newLocal(t)}
}

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func itemKey(t testing.TB, s *Sealer) *DataKey {
	t.Helper()
	k, err := s.ItemKey(context.Background(), customerCtx)
	if err != nil {
		t.Fatalf("ItemKey: %v", err)
	}
	return k
}

func openKey(t testing.TB, s *Sealer, wrapped []byte) *DataKey {
	t.Helper()
	k, err := s.OpenKey(context.Background(), wrapped, customerCtx)
	if err != nil {
		t.Fatalf("OpenKey: %v", err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty value opens", []byte{}},
		{"short value opens", []byte("Ada Lovelace")},
		{"long value opens", bytes.Repeat([]byte("x"), 4096)},
	}
	s := NewSealer(newLocal(t), Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := itemKey(t, s)
			aad := AAD("crm", "CUST#1", "email")
			sealed, err := k.Seal(tt.plaintext, aad)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tt.plaintext) > 0 && bytes.Contains(sealed, tt.plaintext) {
				t.Error("sealed value contains the plaintext")
			}
			// Open through a fresh Sealer, as a later request would.
			k2 := openKey(t, NewSealer(s.kr, Options{}), k.Wrapped())
			got, err := k2.Open(sealed, aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	k := itemKey(t, NewSealer(newLocal(t), Options{}))
	aad := AAD("crm", "CUST#1", "email")
	a, _ := k.Seal([]byte("same"), aad)
	b, _ := k.Seal([]byte("same"), aad)
	if bytes.Equal(a, b) {
		t.Error("sealing the same value twice gave the same bytes")
	}
}

func TestOpenRejects(t *testing.T) {
	s := NewSealer(newLocal(t), Options{})
	k := itemKey(t, s)
	aad := AAD("crm", "CUST#1", "email")
	sealed, err := k.Seal([]byte("ada@example.com"), aad)
	if err != nil {
		t.Fatal(err)
	}
	other := itemKey(t, NewSealer(newLocal(t), Options{}))
	badVersion := bytes.Clone(sealed)
	badVersion[0] = 2

	tests := []struct {
		name   string
		key    *DataKey
		sealed []byte
		aad    []byte
	}{
		{"other item key fails", k, sealed, AAD("crm", "CUST#2", "email")},
		{"other field fails", k, sealed, AAD("crm", "CUST#1", "phone")},
		{"other table fails", k, sealed, AAD("crm-archive", "CUST#1", "email")},
		{"nil aad fails", k, sealed, nil},
		{"truncated by one byte fails", k, sealed[:len(sealed)-1], aad},
		{"truncated to header fails", k, sealed[:13], aad},
		{"empty fails", k, nil, aad},
		{"unknown version fails", k, badVersion, aad},
		{"wrong key fails", other, sealed, aad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.key.Open(tt.sealed, tt.aad)
			if !errors.Is(err, ErrIntegrity) {
				t.Errorf("Open = %q, %v, want ErrIntegrity", got, err)
			}
		})
	}

	t.Run("every flipped byte fails", func(t *testing.T) {
		for i := range sealed {
			flipped := bytes.Clone(sealed)
			flipped[i] ^= 0x01
			if _, err := k.Open(flipped, aad); !errors.Is(err, ErrIntegrity) {
				t.Errorf("byte %d flipped: err = %v, want ErrIntegrity", i, err)
			}
		}
	})
}

func TestAADIsUnambiguous(t *testing.T) {
	tests := []struct {
		name string
		a, b [3]string
	}{
		{"split between table and item key differs", [3]string{"a", "bc", "f"}, [3]string{"ab", "c", "f"}},
		{"split between item key and field differs", [3]string{"t", "ab", "c"}, [3]string{"t", "a", "bc"}},
		{"swapped parts differ", [3]string{"t", "k", "f"}, [3]string{"t", "f", "k"}},
		{"empty parts differ by position", [3]string{"", "x", ""}, [3]string{"x", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := AAD(tt.a[0], tt.a[1], tt.a[2])
			b := AAD(tt.b[0], tt.b[1], tt.b[2])
			if bytes.Equal(a, b) {
				t.Errorf("AAD%q == AAD%q", tt.a, tt.b)
			}
		})
	}
	if !bytes.Equal(AAD("t", "k", "f"), AAD("t", "k", "f")) {
		t.Error("AAD is not deterministic")
	}
}

func TestItemKeyCaching(t *testing.T) {
	tests := []struct {
		name  string
		opt   Options
		calls int
		step  time.Duration // clock advance before each call
		want  int64
	}{
		{"defaults reuse one key for 1000 items", Options{}, 1000, 0, 1},
		{"max items of 10 makes a key per 10 items", Options{MaxItems: 10}, 25, 0, 3},
		{"max items of 1 makes a key per item", Options{MaxItems: 1}, 5, 0, 5},
		{"max age of 1m makes a key per minute", Options{MaxAge: time.Minute}, 10, 30 * time.Second, 5},
		{"default max age makes a key per 5m", Options{}, 12, time.Minute, 3},
		{"disabled makes a key per item", Options{Disabled: true}, 100, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := newCounting(t)
			c := newClock()
			tt.opt.Now = c.Now
			s := NewSealer(kr, tt.opt)
			for range tt.calls {
				c.Advance(tt.step)
				itemKey(t, s)
			}
			if got := kr.generates.Load(); got != tt.want {
				t.Errorf("GenerateDataKey calls = %d, want %d", got, tt.want)
			}
			if got := s.KeyringCalls(); got != tt.want {
				t.Errorf("KeyringCalls = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestItemKeyExpiry(t *testing.T) {
	c := newClock()
	s := NewSealer(newLocal(t), Options{Now: c.Now})
	first := itemKey(t, s)

	c.Advance(DefaultMaxAge - time.Nanosecond)
	if got := itemKey(t, s); got != first {
		t.Error("key just under MaxAge old was replaced")
	}
	c.Advance(time.Nanosecond)
	if got := itemKey(t, s); got == first {
		t.Error("key MaxAge old was reused")
	}
}

func TestItemKeyPerContext(t *testing.T) {
	kr := newCounting(t)
	s := NewSealer(kr, Options{})
	a := itemKey(t, s)
	b, err := s.ItemKey(context.Background(), map[string]string{"table": "crm", "entity": "interaction"})
	if err != nil {
		t.Fatal(err)
	}
	if a == b || bytes.Equal(a.Wrapped(), b.Wrapped()) {
		t.Error("two encryption contexts share a data key")
	}
	if got := kr.generates.Load(); got != 2 {
		t.Errorf("GenerateDataKey calls = %d, want 2", got)
	}
}

func TestOpenKeyCaching(t *testing.T) {
	tests := []struct {
		name  string
		opt   Options
		calls int
		step  time.Duration
		want  int64
	}{
		{"defaults decrypt once for 1000 opens", Options{}, 1000, 0, 1},
		{"max age of 1m decrypts once per minute", Options{MaxAge: time.Minute}, 10, 30 * time.Second, 5},
		{"disabled decrypts per open", Options{Disabled: true}, 100, 0, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := newCounting(t)
			wrapped := itemKey(t, NewSealer(kr, Options{})).Wrapped()
			c := newClock()
			tt.opt.Now = c.Now
			s := NewSealer(kr, tt.opt)
			for range tt.calls {
				c.Advance(tt.step)
				openKey(t, s, wrapped)
			}
			if got := kr.decrypts.Load(); got != tt.want {
				t.Errorf("Decrypt calls = %d, want %d", got, tt.want)
			}
			if got := s.KeyringCalls(); got != tt.want {
				t.Errorf("KeyringCalls = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestOpenKeyCacheChecksContext(t *testing.T) {
	s := NewSealer(newLocal(t), Options{})
	wrapped := itemKey(t, s).Wrapped()
	openKey(t, s, wrapped) // now cached under customerCtx

	_, err := s.OpenKey(context.Background(), wrapped, map[string]string{"table": "crm", "entity": "interaction"})
	if !errors.Is(err, ErrIntegrity) {
		t.Errorf("OpenKey with another context = %v, want ErrIntegrity", err)
	}
}

func TestOpenKeyCacheIsBounded(t *testing.T) {
	kr := newCounting(t)
	gen := NewSealer(kr, Options{Disabled: true})
	var wrapped [][]byte
	for range maxOpenKeys + 1 {
		wrapped = append(wrapped, itemKey(t, gen).Wrapped())
	}
	s := NewSealer(kr, Options{})
	for _, w := range wrapped {
		openKey(t, s, w)
	}
	if got := s.openLRU.Len(); got != maxOpenKeys {
		t.Errorf("cached keys = %d, want %d", got, maxOpenKeys)
	}
	before := kr.decrypts.Load()
	openKey(t, s, wrapped[len(wrapped)-1]) // most recent: cached
	openKey(t, s, wrapped[0])              // least recent: evicted
	if got := kr.decrypts.Load() - before; got != 1 {
		t.Errorf("Decrypt calls = %d, want 1 (only the evicted key)", got)
	}
}

func TestOldDataKeyStillOpens(t *testing.T) {
	c := newClock()
	s := NewSealer(newLocal(t), Options{Now: c.Now})
	old := itemKey(t, s)
	aad := AAD("crm", "CUST#1", "phone")
	sealed, err := old.Seal([]byte("+447700900123"), aad)
	if err != nil {
		t.Fatal(err)
	}

	c.Advance(time.Hour)
	if cur := itemKey(t, s); bytes.Equal(cur.Wrapped(), old.Wrapped()) {
		t.Fatal("key was not replaced after MaxAge")
	}
	got, err := openKey(t, s, old.Wrapped()).Open(sealed, aad)
	if err != nil || string(got) != "+447700900123" {
		t.Errorf("Open = %q, %v, want the phone number", got, err)
	}
}

func TestSealerConcurrentUse(t *testing.T) {
	s := NewSealer(newLocal(t), Options{MaxItems: 7})
	aad := AAD("crm", "CUST#1", "name")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for range 200 {
				k, err := s.ItemKey(context.Background(), customerCtx)
				if err != nil {
					errs <- err
					return
				}
				sealed, err := k.Seal([]byte("Grace Hopper"), aad)
				if err != nil {
					errs <- err
					return
				}
				k2, err := s.OpenKey(context.Background(), k.Wrapped(), customerCtx)
				if err != nil {
					errs <- err
					return
				}
				if _, err := k2.Open(sealed, aad); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestWrappedIsACopy(t *testing.T) {
	s := NewSealer(newLocal(t), Options{})
	k := itemKey(t, s)
	w := k.Wrapped()
	w[0] ^= 0xff
	if _, err := s.OpenKey(context.Background(), k.Wrapped(), customerCtx); err != nil {
		t.Errorf("OpenKey after mutating a returned Wrapped slice: %v", err)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	field := bytes.Repeat([]byte("a"), 200)
	aad := AAD("crm", "CUST#01JD6Z8F9Q", "address")
	for _, bc := range []struct {
		name string
		opt  Options
	}{
		{"cached", Options{}},
		{"uncached", Options{Disabled: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := NewSealer(newLocal(b), bc.opt)
			ctx := context.Background()
			b.SetBytes(int64(len(field)))
			b.ReportAllocs()
			for b.Loop() {
				k, err := s.ItemKey(ctx, customerCtx)
				if err != nil {
					b.Fatal(err)
				}
				sealed, err := k.Seal(field, aad)
				if err != nil {
					b.Fatal(err)
				}
				k2, err := s.OpenKey(ctx, k.Wrapped(), customerCtx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := k2.Open(sealed, aad); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(s.KeyringCalls())/float64(b.N), "keyring-calls/op")
		})
	}
}
