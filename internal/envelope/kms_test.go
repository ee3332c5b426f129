package envelope

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/clientele-crm/clientele/internal/kmsfake"
)

const testKeyID = "alias/clientele-test"

func TestKMSKeyringRoundTrip(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	kr := NewKMSKeyring(KMSClient(fake.Client(t)), testKeyID)
	ctx := context.Background()

	pt, wrapped, err := kr.GenerateDataKey(ctx, customerCtx)
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	if len(pt) != 32 {
		t.Errorf("data key length = %d, want 32", len(pt))
	}
	last := fake.Last()
	if last.KeyID != testKeyID || last.KeySpec != "AES_256" || !maps.Equal(last.EncryptionContext, customerCtx) {
		t.Errorf("GenerateDataKey reached KMS as %+v, want key id, AES_256 and context", last)
	}

	got, err := kr.Decrypt(ctx, wrapped, customerCtx)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(got, pt) {
		t.Error("Decrypt returned another key")
	}
	last = fake.Last()
	if last.Operation != kmsfake.OpDecrypt || last.KeyID != testKeyID || !maps.Equal(last.EncryptionContext, customerCtx) {
		t.Errorf("Decrypt reached KMS as %+v, want key id and context", last)
	}
}

func TestKMSKeyringThroughSealer(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	kr := NewKMSKeyring(fake.Client(t), testKeyID)
	aad := AAD("crm", "CUST#1", "email")

	k := itemKey(t, NewSealer(kr, Options{}))
	sealed, err := k.Seal([]byte("ada@example.com"), aad)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSealer(kr, Options{})
	for range 100 {
		got, err := openKey(t, s, k.Wrapped()).Open(sealed, aad)
		if err != nil || string(got) != "ada@example.com" {
			t.Fatalf("Open = %q, %v, want the email", got, err)
		}
	}
	if got := fake.Calls(kmsfake.OpDecrypt); got != 1 {
		t.Errorf("KMS Decrypt calls = %d, want 1", got)
	}
}

func TestKMSKeyringErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*kmsfake.Server)
		want  error // nil: an error that is neither sentinel
	}{
		{"throttling is unavailable", func(s *kmsfake.Server) { s.FailWith("ThrottlingException", 400) }, ErrUnavailable},
		{"limit exceeded is unavailable", func(s *kmsfake.Server) { s.FailWith("LimitExceededException", 400) }, ErrUnavailable},
		{"access denied is unavailable", func(s *kmsfake.Server) { s.FailWith("AccessDeniedException", 400) }, ErrUnavailable},
		{"KMS internal error is unavailable", func(s *kmsfake.Server) { s.FailWith("KMSInternalException", 500) }, ErrUnavailable},
		{"disabled key is unavailable", func(s *kmsfake.Server) { s.FailWith("DisabledException", 400) }, ErrUnavailable},
		{"unknown 503 is unavailable", func(s *kmsfake.Server) { s.FailWith("SomethingNew", 503) }, ErrUnavailable},
		{"dropped connection is unavailable", (*kmsfake.Server).Down, ErrUnavailable},
		{"validation error is neither", func(s *kmsfake.Server) { s.FailWith("ValidationException", 400) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := kmsfake.New()
			defer fake.Close()
			kr := NewKMSKeyring(fake.Client(t), testKeyID)
			ctx := context.Background()
			_, wrapped, err := kr.GenerateDataKey(ctx, customerCtx)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(fake)

			_, _, genErr := kr.GenerateDataKey(ctx, customerCtx)
			_, decErr := kr.Decrypt(ctx, wrapped, customerCtx)
			for op, err := range map[string]error{"GenerateDataKey": genErr, "Decrypt": decErr} {
				if err == nil {
					t.Errorf("%s succeeded, want an error", op)
					continue
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("%s = %v, want %v", op, err, tt.want)
				}
				if tt.want == nil && (errors.Is(err, ErrUnavailable) || errors.Is(err, ErrIntegrity)) {
					t.Errorf("%s = %v, want neither sentinel", op, err)
				}
			}
		})
	}
}

func TestKMSKeyringIntegrity(t *testing.T) {
	fake := kmsfake.New()
	defer fake.Close()
	client := fake.Client(t)
	kr := NewKMSKeyring(client, testKeyID)
	ctx := context.Background()
	_, wrapped, err := kr.GenerateDataKey(ctx, customerCtx)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(wrapped)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name    string
		kr      *KMSKeyring
		wrapped []byte
		encCtx  map[string]string
	}{
		{"wrong context is integrity", kr, wrapped, map[string]string{"table": "crm", "entity": "interaction"}},
		{"missing context is integrity", kr, wrapped, nil},
		{"flipped byte is integrity", kr, flipped, customerCtx},
		{"other key id is integrity", NewKMSKeyring(client, "alias/other"), wrapped, customerCtx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.kr.Decrypt(ctx, tt.wrapped, tt.encCtx); !errors.Is(err, ErrIntegrity) {
				t.Errorf("Decrypt = %v, want ErrIntegrity", err)
			}
		})
	}

	t.Run("sealer open with wrong context is integrity", func(t *testing.T) {
		_, err := NewSealer(kr, Options{}).OpenKey(ctx, wrapped, map[string]string{"table": "crm"})
		if !errors.Is(err, ErrIntegrity) {
			t.Errorf("OpenKey = %v, want ErrIntegrity", err)
		}
	})
	t.Run("sealer item key when throttled is unavailable", func(t *testing.T) {
		fake.FailWith("ThrottlingException", 400)
		defer fake.Up()
		_, err := NewSealer(kr, Options{}).ItemKey(ctx, customerCtx)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("ItemKey = %v, want ErrUnavailable", err)
		}
	})
}
