package envelope

import (
	"container/list"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Cache defaults, after the AWS Encryption SDK's caching CMM: a data key is
// reused for a bounded time and number of items, so a KMS call is not made per
// write yet a leaked data key exposes only a bounded set of items.
const (
	DefaultMaxAge   = 5 * time.Minute
	DefaultMaxItems = 10000
)

const (
	// maxOpenKeys bounds the cache of unwrapped data keys; reads of many
	// distinct items evict the least recently used.
	maxOpenKeys = 10000
	// maxSealKeys bounds the cache of sealing keys, one per distinct
	// encryption context; callers use only a handful (table × entity type).
	maxSealKeys = 1024
)

// Options tunes a Sealer's data-key cache.
type Options struct {
	MaxAge   time.Duration    // a plaintext data key serves at most this long for sealing (default 5m)
	MaxItems int              // ... and at most this many items (default 10000)
	Disabled bool             // no caching: every item gets its own data key, every open calls the keyring
	Now      func() time.Time // clock for cache ages (default time.Now)
}

// Sealer hands out data keys for sealing and opening items, caching them so
// that most calls do not reach the keyring. It is safe for concurrent use.
//
// Keyring calls are made without holding the cache lock, so concurrent misses
// for the same context may each call the keyring once; a Lambda instance
// serves one request at a time, so that is rare and harmless.
type Sealer struct {
	kr       Keyring
	maxAge   time.Duration
	maxItems int
	disabled bool
	now      func() time.Time
	calls    atomic.Int64

	mu       sync.Mutex
	sealKeys map[string]*sealEntry    // by encoded encryption context
	openKeys map[string]*list.Element // by encoded context and wrapped key; values are *openEntry
	openLRU  list.List                // front is most recently used
}

type sealEntry struct {
	key     *DataKey
	created time.Time
	items   int
}

type openEntry struct {
	id      string
	key     *DataKey
	created time.Time
}

// NewSealer returns a Sealer that gets its data keys from kr.
func NewSealer(kr Keyring, opt Options) *Sealer {
	s := &Sealer{
		kr:       kr,
		maxAge:   opt.MaxAge,
		maxItems: opt.MaxItems,
		disabled: opt.Disabled,
		now:      opt.Now,
		sealKeys: make(map[string]*sealEntry),
		openKeys: make(map[string]*list.Element),
	}
	if s.maxAge <= 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.maxItems <= 0 {
		s.maxItems = DefaultMaxItems
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// ItemKey returns a data key to seal one item's fields under encCtx (which
// holds only the table and entity type — never personal data). A cached key
// is reused until it is MaxAge old or has served MaxItems items; each call
// counts as one item.
func (s *Sealer) ItemKey(ctx context.Context, encCtx map[string]string) (*DataKey, error) {
	if s.disabled {
		return s.generate(ctx, encCtx)
	}
	id := string(encodeContext(encCtx))
	now := s.now()

	s.mu.Lock()
	if e := s.sealKeys[id]; e != nil {
		if now.Sub(e.created) < s.maxAge && e.items < s.maxItems {
			e.items++
			s.mu.Unlock()
			return e.key, nil
		}
		delete(s.sealKeys, id)
	}
	s.mu.Unlock()

	k, err := s.generate(ctx, encCtx)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sealKeys) >= maxSealKeys {
		s.pruneSealKeys(now)
	}
	s.sealKeys[id] = &sealEntry{key: k, created: now, items: 1}
	return k, nil
}

// pruneSealKeys drops expired sealing keys, and if that frees nothing, every
// key: the bound is only reached by a caller misusing encryption contexts.
// The caller holds s.mu.
func (s *Sealer) pruneSealKeys(now time.Time) {
	for id, e := range s.sealKeys {
		if now.Sub(e.created) >= s.maxAge {
			delete(s.sealKeys, id)
		}
	}
	if len(s.sealKeys) >= maxSealKeys {
		clear(s.sealKeys)
	}
}

func (s *Sealer) generate(ctx context.Context, encCtx map[string]string) (*DataKey, error) {
	s.calls.Add(1)
	plaintext, wrapped, err := s.kr.GenerateDataKey(ctx, encCtx)
	if err != nil {
		return nil, err
	}
	if len(plaintext) != dataKeySize {
		return nil, errors.New("generate data key: unexpected key size")
	}
	return newDataKey(plaintext, wrapped)
}

// OpenKey returns the data key that wrapped (stored with the item) unwraps to
// under encCtx. Unwrapped keys are cached for MaxAge, at most 10000 of them,
// least recently used first out. The cache is keyed by encCtx as well as the
// wrapped bytes, so a hit never skips the keyring's check of the context.
func (s *Sealer) OpenKey(ctx context.Context, wrapped []byte, encCtx map[string]string) (*DataKey, error) {
	if s.disabled {
		return s.unwrap(ctx, wrapped, encCtx)
	}
	enc := encodeContext(encCtx)
	id := string(append(enc, wrapped...))
	now := s.now()

	s.mu.Lock()
	if el := s.openKeys[id]; el != nil {
		e := el.Value.(*openEntry)
		if now.Sub(e.created) < s.maxAge {
			s.openLRU.MoveToFront(el)
			s.mu.Unlock()
			return e.key, nil
		}
		s.openLRU.Remove(el)
		delete(s.openKeys, id)
	}
	s.mu.Unlock()

	k, err := s.unwrap(ctx, wrapped, encCtx)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if el := s.openKeys[id]; el != nil {
		// Another goroutine unwrapped the same key meanwhile.
		s.openLRU.Remove(el)
		delete(s.openKeys, id)
	}
	for s.openLRU.Len() >= maxOpenKeys {
		oldest := s.openLRU.Back()
		s.openLRU.Remove(oldest)
		delete(s.openKeys, oldest.Value.(*openEntry).id)
	}
	s.openKeys[id] = s.openLRU.PushFront(&openEntry{id: id, key: k, created: now})
	return k, nil
}

func (s *Sealer) unwrap(ctx context.Context, wrapped []byte, encCtx map[string]string) (*DataKey, error) {
	s.calls.Add(1)
	plaintext, err := s.kr.Decrypt(ctx, wrapped, encCtx)
	if err != nil {
		return nil, err
	}
	if len(plaintext) != dataKeySize {
		return nil, fmt.Errorf("unwrap data key: %w", ErrIntegrity)
	}
	return newDataKey(plaintext, wrapped)
}

// KeyringCalls reports how many times the keyring was called (GenerateDataKey
// + Decrypt), for benchmarks.
func (s *Sealer) KeyringCalls() int64 {
	return s.calls.Load()
}

// sealVersion is the first byte of every sealed value.
const sealVersion = 1

// nonceSize is AES-GCM's standard 96-bit nonce. Random nonces are safe here
// because a data key seals at most MaxItems items' fields, far below the
// 2^32 messages per key that random 96-bit nonces allow.
const nonceSize = 12

// DataKey is one plaintext data key, ready to seal and open field values,
// together with its wrapped form to store with the item. It is safe for
// concurrent use.
type DataKey struct {
	aead    cipher.AEAD
	wrapped []byte
}

func newDataKey(plaintext, wrapped []byte) (*DataKey, error) {
	aead, err := newGCM(plaintext)
	// The cipher holds its own expanded key; drop this copy of the raw key.
	clear(plaintext)
	if err != nil {
		return nil, fmt.Errorf("data key: %w", err)
	}
	return &DataKey{aead: aead, wrapped: append([]byte(nil), wrapped...)}, nil
}

// Wrapped returns the wrapped data key, to be stored with the item and handed
// to OpenKey to read it back.
func (k *DataKey) Wrapped() []byte {
	return append([]byte(nil), k.wrapped...)
}

// Seal encrypts plaintext with AES-256-GCM, a fresh random 96-bit nonce, and
// associated data aad; the result is version byte || nonce || ciphertext.
func (k *DataKey) Seal(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+k.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return k.aead.Seal(out, out[1:], plaintext, aad), nil
}

// Open reverses Seal; any mismatch of aad, a flipped byte or a wrong key
// returns ErrIntegrity.
func (k *DataKey) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceSize+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, fmt.Errorf("open: %w", ErrIntegrity)
	}
	plaintext, err := k.aead.Open(nil, sealed[1:1+nonceSize], sealed[1+nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrIntegrity)
	}
	return plaintext, nil
}
