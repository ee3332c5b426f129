// Package auditkey signs and verifies the audit log's digests: with a KMS
// asymmetric signing key on AWS (ECC_NIST_P256, ECDSA_SHA_256), and with an
// ECDSA P-256 key in a local file for the local runtime. Both sign the
// SHA-256 digest of the message, so a digest signed by either verifies with
// the public key alone.
package auditkey

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// ErrBadSignature is returned by Verify when a signature does not match.
var ErrBadSignature = errors.New("auditkey: signature does not verify")

// Key signs digests and verifies them.
type Key interface {
	// ID names the key; a digest records it.
	ID() string
	// Sign returns the signature of SHA-256(msg).
	Sign(ctx context.Context, msg []byte) ([]byte, error)
	// Verify checks a signature that key keyID made of msg.
	Verify(ctx context.Context, keyID string, msg, sig []byte) error
}

// File is an ECDSA P-256 key kept in a PEM file (mode 0600).
type File struct {
	id  string
	key *ecdsa.PrivateKey
}

// OpenFile loads the key at path, creating it on first use.
func OpenFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		der, merr := x509.MarshalPKCS8PrivateKey(k)
		if merr != nil {
			return nil, merr
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		// O_EXCL: of two processes creating it at once, one key wins and
		// the other reads it.
		f, oerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case oerr == nil:
			_, werr := f.Write(b)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				return nil, werr
			}
		case errors.Is(oerr, os.ErrExist):
			if b, err = os.ReadFile(path); err != nil {
				return nil, err
			}
		default:
			return nil, oerr
		}
	} else if err != nil {
		return nil, fmt.Errorf("read audit signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("audit signing key %s: not PEM", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	k, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("audit signing key %s: not an ECDSA P-256 key", path)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha256.Sum256(pub)
	return &File{id: fmt.Sprintf("file:%x", sum[:8]), key: k}, nil
}

// ID implements Key: "file:" and a fingerprint of the public key.
func (f *File) ID() string { return f.id }

// Sign implements Key.
func (f *File) Sign(_ context.Context, msg []byte) ([]byte, error) {
	sum := sha256.Sum256(msg)
	return ecdsa.SignASN1(rand.Reader, f.key, sum[:])
}

// Verify implements Key.
func (f *File) Verify(_ context.Context, keyID string, msg, sig []byte) error {
	if keyID != f.id {
		return fmt.Errorf("auditkey: digest signed by %s, this key is %s", keyID, f.id)
	}
	sum := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(&f.key.PublicKey, sum[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// KMSAPI is the part of the KMS client a KMS key uses.
type KMSAPI interface {
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

// KMSClient returns c's Sign and GetPublicKey as a KMSAPI holding the two
// operations, not the client (see envelope.KMSClient).
func KMSClient(c *kms.Client) KMSAPI { return kmsOps{c.Sign, c.GetPublicKey} }

type kmsOps struct {
	sign         func(context.Context, *kms.SignInput, ...func(*kms.Options)) (*kms.SignOutput, error)
	getPublicKey func(context.Context, *kms.GetPublicKeyInput, ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
}

func (k kmsOps) Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error) {
	return k.sign(ctx, in, optFns...)
}

func (k kmsOps) GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error) {
	return k.getPublicKey(ctx, in, optFns...)
}

// KMS is a KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY). It signs
// through KMS; it verifies locally with the public key, fetched once per key
// id, so verification needs only kms:GetPublicKey.
type KMS struct {
	api   KMSAPI
	keyID string
	mu    sync.Mutex
	pubs  map[string]*ecdsa.PublicKey
}

// NewKMS returns the KMS key keyID.
func NewKMS(api KMSAPI, keyID string) *KMS {
	return &KMS{api: api, keyID: keyID, pubs: map[string]*ecdsa.PublicKey{}}
}

// ID implements Key.
func (k *KMS) ID() string { return k.keyID }

// Sign implements Key.
func (k *KMS) Sign(ctx context.Context, msg []byte) ([]byte, error) {
	sum := sha256.Sum256(msg)
	out, err := k.api.Sign(ctx, &kms.SignInput{KeyId: aws.String(k.keyID), Message: sum[:],
		MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	if err != nil {
		return nil, fmt.Errorf("sign audit digest: %w", err)
	}
	return out.Signature, nil
}

// Verify implements Key.
func (k *KMS) Verify(ctx context.Context, keyID string, msg, sig []byte) error {
	pub, err := k.public(ctx, keyID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return ErrBadSignature
	}
	return nil
}

func (k *KMS) public(ctx context.Context, keyID string) (*ecdsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.pubs[keyID]; ok {
		return p, nil
	}
	out, err := k.api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("get audit signing public key: %w", err)
	}
	parsed, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("audit signing public key: %w", err)
	}
	p, ok := parsed.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit signing key %s is not an ECC key", keyID)
	}
	k.pubs[keyID] = p
	return p, nil
}
