package envelope

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/clientele-crm/clientele/internal/awserr"
)

// KMSAPI is the part of *kms.Client that KMSKeyring uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMSKeyring is a Keyring backed by one AWS KMS symmetric key. The encryption
// context goes to KMS with every call, so KMS binds each wrapped key to it and
// CloudTrail records it (which is why it must never hold personal data).
type KMSKeyring struct {
	api   KMSAPI
	keyID string
}

// NewKMSKeyring returns a Keyring that generates and unwraps data keys with
// the KMS key keyID (a key id, ARN or alias).
func NewKMSKeyring(api KMSAPI, keyID string) *KMSKeyring {
	return &KMSKeyring{api: api, keyID: keyID}
}

// GenerateDataKey asks KMS for a new AES-256 data key bound to encCtx.
// Throttling, access and outage errors wrap ErrUnavailable.
func (k *KMSKeyring) GenerateDataKey(ctx context.Context, encCtx map[string]string) (plaintext, wrapped []byte, err error) {
	out, err := k.api.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             &k.keyID,
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encCtx,
	})
	if err != nil {
		return nil, nil, classifyKMS("kms generate data key", err)
	}
	if len(out.Plaintext) != dataKeySize || len(out.CiphertextBlob) == 0 {
		return nil, nil, errors.New("kms generate data key: unexpected key size")
	}
	return out.Plaintext, out.CiphertextBlob, nil
}

// Decrypt asks KMS to unwrap wrapped under the keyring's key and encCtx. KMS
// rejecting the ciphertext, context or key is ErrIntegrity; throttling,
// access and outage errors wrap ErrUnavailable.
func (k *KMSKeyring) Decrypt(ctx context.Context, wrapped []byte, encCtx map[string]string) ([]byte, error) {
	out, err := k.api.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		KeyId:             &k.keyID,
		EncryptionContext: encCtx,
	})
	if err != nil {
		return nil, classifyKMS("kms decrypt", err)
	}
	if len(out.Plaintext) != dataKeySize {
		return nil, fmt.Errorf("kms decrypt: %w", ErrIntegrity)
	}
	return out.Plaintext, nil
}

// KMS error codes by what the caller can do about them. Throttling, access
// and service errors are answered with 503: they pass, or need an operator,
// and retrying the same request later may succeed.
var (
	kmsUnavailableCodes = map[string]bool{
		// throttling
		"ThrottlingException":       true,
		"Throttling":                true,
		"ThrottledException":        true,
		"TooManyRequestsException":  true,
		"RequestLimitExceeded":      true,
		"LimitExceededException":    true,
		"RequestThrottled":          true,
		"RequestThrottledException": true,
		"SlowDown":                  true,
		// access and credentials
		"AccessDeniedException":               true,
		"AccessDenied":                        true,
		"UnrecognizedClientException":         true,
		"InvalidSignatureException":           true,
		"IncompleteSignature":                 true,
		"MissingAuthenticationTokenException": true,
		"ExpiredTokenException":               true,
		"ExpiredToken":                        true,
		"InvalidClientTokenId":                true,
		"RequestExpired":                      true,
		// service and key state
		"KMSInternalException":        true,
		"InternalFailure":             true,
		"InternalError":               true,
		"ServiceUnavailable":          true,
		"ServiceUnavailableException": true,
		"DependencyTimeoutException":  true,
		"KeyUnavailableException":     true,
		"KMSInvalidStateException":    true,
		"DisabledException":           true,
		"RequestTimeout":              true,
		"RequestTimeoutException":     true,
	}
	kmsIntegrityCodes = map[string]bool{
		"InvalidCiphertextException": true,
		"IncorrectKeyException":      true,
	}
)

// classifyKMS wraps a KMS client error in ErrUnavailable or ErrIntegrity when
// it is one of those, and plainly otherwise (a bad request or key id is a bug
// or misconfiguration, not an outage).
func classifyKMS(op string, err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && kmsIntegrityCodes[apiErr.ErrorCode()] {
		return fmt.Errorf("%s: %w: %w", op, ErrIntegrity, err)
	}
	if awserr.Transient(err, kmsUnavailableCodes) {
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// KMSClient returns c's GenerateDataKey and Decrypt as a KMSAPI holding
// the two operations, not the client: see dynamo.Client for why a process
// that links protobuf should not hold an SDK client in an interface.
func KMSClient(c *kms.Client) KMSAPI { return kmsOps{c.GenerateDataKey, c.Decrypt} }

type kmsOps struct {
	generateDataKey func(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	decrypt         func(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

func (k kmsOps) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	return k.generateDataKey(ctx, in, optFns...)
}

func (k kmsOps) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return k.decrypt(ctx, in, optFns...)
}
