package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// localFormat is the first byte of a key wrapped by LocalKeyring. It is 'L'
// rather than 1 so a KMS ciphertext blob (which starts with 1) handed to the
// wrong keyring is rejected before any decryption is attempted.
const localFormat = 'L'

// localHeader is the format byte plus the big-endian key version.
const localHeader = 1 + 4

// LocalKeyring is a file-backed AES-256 keyring that stands in for KMS when
// running locally. The file holds a JSON list of versioned 32-byte master
// keys; data keys are wrapped with AES-GCM under the newest version and carry
// that version, so older versions keep unwrapping after Rotate. It is safe for
// concurrent use.
type LocalKeyring struct {
	path string

	mu      sync.RWMutex
	keys    map[uint32]cipher.AEAD
	current uint32
}

// localKey is one entry of the key file.
type localKey struct {
	Version uint32 `json:"version"`
	Key     []byte `json:"key"`
}

// OpenLocalKeyring loads the key file at path, creating it (mode 0600, in a
// directory created 0700) with one fresh key if it does not exist. Two
// processes creating the same file at once end up sharing whichever file was
// linked into place first.
func OpenLocalKeyring(path string) (*LocalKeyring, error) {
	kr := &LocalKeyring{path: path}
	err := kr.reload()
	if err == nil {
		return kr, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := createKeyFile(path); err != nil {
		return nil, err
	}
	if err := kr.reload(); err != nil {
		return nil, err
	}
	return kr, nil
}

// createKeyFile writes a one-key file to a temporary name and links it into
// place. Link, unlike rename, fails rather than clobbering a file another
// process created meanwhile; that process's file then wins and is what both
// load, so no data key is ever wrapped under a key that gets overwritten.
func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create keyring dir: %w", err)
	}
	k, err := newLocalKey(1)
	if err != nil {
		return err
	}
	tmp, err := writeTemp(dir, []localKey{k})
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create keyring: %w", err)
	}
	syncDir(dir)
	return nil
}

// Rotate adds a new key version and makes it current. Data keys wrapped under
// older versions still unwrap. Rotate re-reads the file first so rotations
// run one after another from different processes do not drop versions; it
// does not coordinate rotations run at the same instant from different
// processes, which is an operator action on a development keyring.
func (kr *LocalKeyring) Rotate() error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	list, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	var next uint32
	for _, k := range list {
		next = max(next, k.Version)
	}
	k, err := newLocalKey(next + 1)
	if err != nil {
		return err
	}
	list = append(list, k)
	dir := filepath.Dir(kr.path)
	tmp, err := writeTemp(dir, list)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, kr.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rotate keyring: %w", err)
	}
	syncDir(dir)
	return kr.install(list)
}

// GenerateDataKey returns a fresh 256-bit data key and the same key wrapped
// under the current master key version, bound to encCtx.
func (kr *LocalKeyring) GenerateDataKey(ctx context.Context, encCtx map[string]string) (plaintext, wrapped []byte, err error) {
	plaintext = make([]byte, dataKeySize)
	if _, err := rand.Read(plaintext); err != nil {
		return nil, nil, fmt.Errorf("generate data key: %w", err)
	}
	kr.mu.RLock()
	version, aead := kr.current, kr.keys[kr.current]
	kr.mu.RUnlock()

	wrapped = make([]byte, localHeader+aead.NonceSize(), localHeader+aead.NonceSize()+dataKeySize+aead.Overhead())
	wrapped[0] = localFormat
	binary.BigEndian.PutUint32(wrapped[1:], version)
	nonce := wrapped[localHeader:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("generate data key: %w", err)
	}
	wrapped = aead.Seal(wrapped, nonce, plaintext, encodeContext(encCtx))
	return plaintext, wrapped, nil
}

// Decrypt unwraps a data key produced by GenerateDataKey with the same encCtx.
// A version this process has not seen makes it re-read the key file once, so
// a rotation by another process is picked up. Any mismatch is ErrIntegrity.
func (kr *LocalKeyring) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	if len(wrapped) < localHeader || wrapped[0] != localFormat {
		return nil, fmt.Errorf("unwrap data key: %w", ErrIntegrity)
	}
	version := binary.BigEndian.Uint32(wrapped[1:])
	aead := kr.key(version)
	if aead == nil {
		kr.mu.Lock()
		err := kr.reload()
		kr.mu.Unlock()
		if err != nil {
			return nil, err
		}
		aead = kr.key(version)
	}
	if aead == nil {
		return nil, fmt.Errorf("unwrap data key: unknown key version: %w", ErrIntegrity)
	}
	if len(wrapped) != localHeader+aead.NonceSize()+dataKeySize+aead.Overhead() {
		return nil, fmt.Errorf("unwrap data key: %w", ErrIntegrity)
	}
	nonce := wrapped[localHeader : localHeader+aead.NonceSize()]
	ct := wrapped[localHeader+aead.NonceSize():]
	plaintext, err := aead.Open(nil, nonce, ct, encodeContext(encCtx))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", ErrIntegrity)
	}
	return plaintext, nil
}

func (kr *LocalKeyring) key(version uint32) cipher.AEAD {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.keys[version]
}

// reload reads the key file into kr. The caller holds kr.mu for writing, or
// kr is not yet shared.
func (kr *LocalKeyring) reload() error {
	list, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	return kr.install(list)
}

// install replaces kr's keys with list. The caller holds kr.mu for writing.
func (kr *LocalKeyring) install(list []localKey) error {
	keys := make(map[uint32]cipher.AEAD, len(list))
	var current uint32
	for _, k := range list {
		aead, err := newGCM(k.Key)
		if err != nil {
			return fmt.Errorf("load keyring: %w", err)
		}
		keys[k.Version] = aead
		current = max(current, k.Version)
	}
	kr.keys, kr.current = keys, current
	return nil
}

// readKeyFile reads and validates a key file. Its errors name the file but
// never its contents.
func readKeyFile(path string) ([]localKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	var list []localKey
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, errors.New("read keyring: malformed key file")
	}
	if len(list) == 0 {
		return nil, errors.New("read keyring: no keys")
	}
	seen := make(map[uint32]bool, len(list))
	for _, k := range list {
		if k.Version == 0 || seen[k.Version] {
			return nil, errors.New("read keyring: bad or repeated key version")
		}
		if len(k.Key) != 32 {
			return nil, errors.New("read keyring: key is not 32 bytes")
		}
		seen[k.Version] = true
	}
	return list, nil
}

// writeTemp writes list to a new 0600 file in dir and flushes it to disk, so
// the file is complete before it is linked or renamed into place.
func writeTemp(dir string, list []localKey) (string, error) {
	data, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode keyring: %w", err)
	}
	f, err := os.CreateTemp(dir, ".keyring-*.tmp")
	if err != nil {
		return "", fmt.Errorf("write keyring: %w", err)
	}
	name := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("write keyring: %w", err)
	}
	return name, nil
}

// syncDir flushes a directory entry so a new key file survives a crash. It is
// best effort because some platforms cannot sync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func newLocalKey(version uint32) (localKey, error) {
	k := localKey{Version: version, Key: make([]byte, 32)}
	if _, err := rand.Read(k.Key); err != nil {
		return localKey{}, fmt.Errorf("generate master key: %w", err)
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
