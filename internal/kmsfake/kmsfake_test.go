package kmsfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/clientele-crm/clientele/internal/kmsfake"
)

const keyID = "alias/clientele-test"

var encCtx = map[string]string{"table": "crm", "entity": "customer"}

func generate(t *testing.T, c *kms.Client) *kms.GenerateDataKeyOutput {
	t.Helper()
	out, err := c.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{
		KeyId:             ptr(keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encCtx,
	})
	if err != nil {
		t.Fatalf("GenerateDataKey: %v", err)
	}
	return out
}

func ptr(s string) *string { return &s }

func TestRoundTrip(t *testing.T) {
	s := kmsfake.New()
	defer s.Close()
	c := s.Client(t)

	gen := generate(t, c)
	if got := len(gen.Plaintext); got != 32 {
		t.Fatalf("plaintext length = %d, want 32", got)
	}
	if got := *gen.KeyId; got != keyID {
		t.Errorf("GenerateDataKey KeyId = %q, want %q", got, keyID)
	}
	got := s.Last()
	want := kmsfake.Request{Operation: kmsfake.OpGenerateDataKey, KeyID: keyID, KeySpec: "AES_256", EncryptionContext: encCtx}
	if got.Operation != want.Operation || got.KeyID != want.KeyID || got.KeySpec != want.KeySpec || !maps.Equal(got.EncryptionContext, want.EncryptionContext) {
		t.Errorf("Last() = %+v, want %+v", got, want)
	}

	dec, err := c.Decrypt(context.Background(), &kms.DecryptInput{
		CiphertextBlob:    gen.CiphertextBlob,
		KeyId:             ptr(keyID),
		EncryptionContext: encCtx,
	})
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if !bytes.Equal(dec.Plaintext, gen.Plaintext) {
		t.Error("Decrypt returned another key than GenerateDataKey")
	}
	if got := s.Last(); got.Operation != kmsfake.OpDecrypt || got.KeyID != keyID || !maps.Equal(got.EncryptionContext, encCtx) {
		t.Errorf("Last() = %+v, want Decrypt with key id and context", got)
	}
	for _, op := range []string{kmsfake.OpGenerateDataKey, kmsfake.OpDecrypt} {
		if got := s.Calls(op); got != 1 {
			t.Errorf("Calls(%s) = %d, want 1", op, got)
		}
	}
}

func TestDecryptRejects(t *testing.T) {
	s := kmsfake.New()
	defer s.Close()
	c := s.Client(t)
	blob := generate(t, c).CiphertextBlob

	flipped := bytes.Clone(blob)
	flipped[len(flipped)-1] ^= 1

	tests := []struct {
		name   string
		blob   []byte
		keyID  string
		encCtx map[string]string
		want   string
	}{
		{"other context is invalid ciphertext", blob, keyID, map[string]string{"table": "crm", "entity": "interaction"}, "InvalidCiphertextException"},
		{"missing context is invalid ciphertext", blob, keyID, nil, "InvalidCiphertextException"},
		{"extra context is invalid ciphertext", blob, keyID, map[string]string{"table": "crm", "entity": "customer", "x": "y"}, "InvalidCiphertextException"},
		{"flipped byte is invalid ciphertext", flipped, keyID, encCtx, "InvalidCiphertextException"},
		{"truncated blob is invalid ciphertext", blob[:len(blob)-1], keyID, encCtx, "InvalidCiphertextException"},
		{"garbage is invalid ciphertext", []byte("not a blob"), keyID, encCtx, "InvalidCiphertextException"},
		{"other key id is incorrect key", blob, "alias/other", encCtx, "IncorrectKeyException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &kms.DecryptInput{CiphertextBlob: tt.blob, EncryptionContext: tt.encCtx}
			if tt.keyID != "" {
				in.KeyId = ptr(tt.keyID)
			}
			_, err := c.Decrypt(context.Background(), in)
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Decrypt error = %v, want API error %s", err, tt.want)
			}
			if got := apiErr.ErrorCode(); got != tt.want {
				t.Errorf("error code = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("error decodes to the modeled type", func(t *testing.T) {
		_, err := c.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: blob})
		var want *types.InvalidCiphertextException
		if !errors.As(err, &want) {
			t.Errorf("Decrypt error = %v, want *types.InvalidCiphertextException", err)
		}
	})
}

func TestFailWith(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		status     int
		wantStatus int
	}{
		{"throttling fails with 400", "ThrottlingException", 0, 400},
		{"access denied fails with 400", "AccessDeniedException", 400, 400},
		{"internal error fails with 500", "KMSInternalException", 500, 500},
		{"unavailable fails with 503", "ServiceUnavailableException", 503, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kmsfake.New()
			defer s.Close()
			c := s.Client(t)
			s.FailWith(tt.code, tt.status)

			_, err := c.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{KeyId: ptr(keyID), KeySpec: types.DataKeySpecAes256})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
				t.Fatalf("error = %v, want code %s", err, tt.code)
			}
			var status interface{ HTTPStatusCode() int }
			if !errors.As(err, &status) || status.HTTPStatusCode() != tt.wantStatus {
				t.Errorf("error = %v, want status %d", err, tt.wantStatus)
			}
			if got := s.Calls(kmsfake.OpGenerateDataKey); got != 1 {
				t.Errorf("Calls = %d, want 1 (retries limited)", got)
			}

			s.Up()
			generate(t, c)
		})
	}
}

func TestDown(t *testing.T) {
	s := kmsfake.New()
	defer s.Close()
	c := s.Client(t)
	s.Down()

	_, err := c.GenerateDataKey(context.Background(), &kms.GenerateDataKeyInput{KeyId: ptr(keyID), KeySpec: types.DataKeySpecAes256})
	var connErr interface{ ConnectionError() bool }
	if !errors.As(err, &connErr) || !connErr.ConnectionError() {
		t.Fatalf("error = %v, want a connection error", err)
	}
	if got := s.Calls(kmsfake.OpGenerateDataKey); got != 1 {
		t.Errorf("Calls = %d, want 1 (retries limited)", got)
	}

	s.Up()
	generate(t, c)
}

func TestRejectsUnsignedRequest(t *testing.T) {
	s := kmsfake.New()
	defer s.Close()

	req, err := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(`{"KeyId":"k","KeySpec":"AES_256"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.GenerateDataKey")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(body, &got)
	if resp.StatusCode != 400 || got.Type != "MissingAuthenticationTokenException" {
		t.Errorf("status, __type = %d, %q, want 400, MissingAuthenticationTokenException", resp.StatusCode, got.Type)
	}
	if got := s.Calls(kmsfake.OpGenerateDataKey); got != 0 {
		t.Errorf("Calls = %d, want 0", got)
	}
}
