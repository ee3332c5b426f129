// Package kmsfake is an in-process fake of AWS KMS for tests. It speaks KMS's
// real wire protocol (awsJson1_1 over HTTP), so the code under test runs
// through the real SDK client: request signing, serialization, error
// decoding and retries included. It implements GenerateDataKey and Decrypt.
//
// Wrapped data keys are sealed with AES-GCM under a per-server master key with
// the key id and encryption context as associated data, so, as with KMS, a
// wrong context or key id fails to decrypt.
package kmsfake

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/clientele-crm/clientele/internal/awsfake"
)

// Operation names as they appear after "TrentService." in X-Amz-Target.
const (
	OpGenerateDataKey = "GenerateDataKey"
	OpDecrypt         = "Decrypt"
)

// Region is the region Client signs for; the fake checks the signature's
// credential scope names it and the kms service.
const Region = "us-east-1"

const contentType = "application/x-amz-json-1.1"

// blobFormat is the first byte of a fake ciphertext blob, as in real KMS blobs.
const blobFormat = 1

// Request is what the fake recorded of one request.
type Request struct {
	Operation         string            // OpGenerateDataKey or OpDecrypt
	KeyID             string            // KeyId as sent, "" if absent
	KeySpec           string            // KeySpec as sent (GenerateDataKey only)
	EncryptionContext map[string]string // EncryptionContext as sent, nil if absent
}

// Server is a fake KMS listening on a local httptest.Server. It is safe for
// concurrent use.
type Server struct {
	*awsfake.Server
	master cipher.AEAD

	mu         sync.Mutex
	calls      map[string]int
	last       Request
	failCode   string
	failStatus int
	down       bool
}

// New starts a fake KMS with a fresh random master key. Close it when done.
func New() *Server {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("kmsfake: " + err.Error())
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("kmsfake: " + err.Error())
	}
	master, err := cipher.NewGCM(block)
	if err != nil {
		panic("kmsfake: " + err.Error())
	}
	s := &Server{master: master, calls: make(map[string]int)}
	s.Server = awsfake.Start(http.HandlerFunc(s.serve))
	return s
}

// Client returns a real KMS SDK client aimed at s, with static dummy
// credentials, region us-east-1 and a single attempt per call, so failure
// tests do not sit through retry back-off.
func (s *Server) Client(t testing.TB) *kms.Client {
	t.Helper()
	c := s.Settings("kmsfake")
	return kms.New(kms.Options{Region: Region, BaseEndpoint: c.BaseEndpoint, Credentials: c.Credentials,
		HTTPClient: c.HTTPClient, RetryMaxAttempts: c.RetryMaxAttempts})
}

// Calls reports how many requests for op (OpGenerateDataKey or OpDecrypt)
// reached the server, failed ones included.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Last returns the most recent request the server received.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	r.EncryptionContext = maps.Clone(r.EncryptionContext)
	return r
}

// FailWith makes every later call fail with the error type code (for example
// "ThrottlingException", or "KMSInternalException" with 500) and HTTP status
// (400 if 0), until Up.
func (s *Server) FailWith(code string, status int) {
	if status == 0 {
		status = http.StatusBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failStatus = code, status
}

// Down makes every later call have its connection closed without a response,
// as a network outage would, until Up.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
}

// Up ends failures set by FailWith and Down.
func (s *Server) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failStatus, s.down = "", 0, false
}

// wireRequest holds the request members of both operations.
type wireRequest struct {
	KeyId             string
	KeySpec           string
	NumberOfBytes     int
	EncryptionContext map[string]string
	CiphertextBlob    []byte
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "only POST / is served")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		writeError(w, http.StatusBadRequest, "SerializationException", "unexpected content type")
		return
	}
	if !signedForKMS(r.Header.Get("Authorization")) {
		writeError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "request is not signed for kms in "+Region)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	if !ok || (op != OpGenerateDataKey && op != OpDecrypt) {
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "unsupported operation")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var in wireRequest
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "malformed request body")
		return
	}

	s.mu.Lock()
	s.calls[op]++
	s.last = Request{Operation: op, KeyID: in.KeyId, KeySpec: in.KeySpec, EncryptionContext: in.EncryptionContext}
	down, failCode, failStatus := s.down, s.failCode, s.failStatus
	s.mu.Unlock()

	if down {
		awsfake.DropConnection(w)
		return
	}
	if failCode != "" {
		writeError(w, failStatus, failCode, "kmsfake: injected failure")
		return
	}
	switch op {
	case OpGenerateDataKey:
		s.generateDataKey(w, in)
	case OpDecrypt:
		s.decrypt(w, in)
	}
}

func (s *Server) generateDataKey(w http.ResponseWriter, in wireRequest) {
	if in.KeyId == "" {
		writeError(w, http.StatusBadRequest, "ValidationException", "KeyId is required")
		return
	}
	var n int
	switch {
	case in.KeySpec == "AES_256" && in.NumberOfBytes == 0:
		n = 32
	case in.KeySpec == "AES_128" && in.NumberOfBytes == 0:
		n = 16
	case in.KeySpec == "" && in.NumberOfBytes >= 1 && in.NumberOfBytes <= 1024:
		n = in.NumberOfBytes
	default:
		writeError(w, http.StatusBadRequest, "ValidationException", "specify one of KeySpec AES_256 or AES_128, or NumberOfBytes")
		return
	}
	plaintext := make([]byte, n)
	rand.Read(plaintext)
	writeJSON(w, map[string]any{
		"CiphertextBlob": s.wrap(in.KeyId, in.EncryptionContext, plaintext),
		"Plaintext":      plaintext,
		"KeyId":          in.KeyId,
	})
}

func (s *Server) decrypt(w http.ResponseWriter, in wireRequest) {
	keyID, plaintext, ok := s.unwrap(in.CiphertextBlob, in.EncryptionContext)
	switch {
	case keyID == "":
		writeError(w, http.StatusBadRequest, "InvalidCiphertextException", "")
		return
	case in.KeyId != "" && in.KeyId != keyID:
		writeError(w, http.StatusBadRequest, "IncorrectKeyException", "The key ID in the request does not identify the KMS key used to encrypt the ciphertext.")
		return
	case !ok:
		writeError(w, http.StatusBadRequest, "InvalidCiphertextException", "")
		return
	}
	writeJSON(w, map[string]any{
		"KeyId":               keyID,
		"Plaintext":           plaintext,
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
}

// wrap returns blobFormat || uint16 len(keyID) || keyID || nonce || AES-GCM
// ciphertext, with the header and canonical encryption context as
// associated data.
func (s *Server) wrap(keyID string, encCtx map[string]string, plaintext []byte) []byte {
	header := make([]byte, 0, 3+len(keyID))
	header = append(header, blobFormat)
	header = binary.BigEndian.AppendUint16(header, uint16(len(keyID)))
	header = append(header, keyID...)
	nonce := make([]byte, s.master.NonceSize())
	rand.Read(nonce)
	blob := append(header, nonce...)
	return s.master.Seal(blob, nonce, plaintext, aad(header, encCtx))
}

// unwrap reverses wrap. keyID is "" if the blob is not one of ours; ok is
// false if it is but fails authentication under encCtx.
func (s *Server) unwrap(blob []byte, encCtx map[string]string) (keyID string, plaintext []byte, ok bool) {
	if len(blob) < 3 || blob[0] != blobFormat {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(blob[1:]))
	if n == 0 || len(blob) < 3+n+s.master.NonceSize()+s.master.Overhead() {
		return "", nil, false
	}
	header := blob[:3+n]
	nonce := blob[3+n : 3+n+s.master.NonceSize()]
	plaintext, err := s.master.Open(nil, nonce, blob[3+n+s.master.NonceSize():], aad(header, encCtx))
	return string(blob[3 : 3+n]), plaintext, err == nil
}

// aad is the blob header followed by the encryption context in key order,
// each key and value length-prefixed.
func aad(header []byte, encCtx map[string]string) []byte {
	b := append([]byte(nil), header...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(encCtx)))
	for _, k := range slices.Sorted(maps.Keys(encCtx)) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint32(b, uint32(len(encCtx[k])))
		b = append(b, encCtx[k]...)
	}
	return b
}

// signedForKMS reports whether an Authorization header is a SigV4 signature
// scoped to the kms service in Region. The signature itself is not checked.
func signedForKMS(auth string) bool {
	return strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") &&
		strings.Contains(auth, "/"+Region+"/kms/aws4_request")
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "KMSInternalException", "encode response")
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", awsfake.NewID())
	w.Write(body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(map[string]string{"__type": code, "message": message})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-RequestId", awsfake.NewID())
	w.WriteHeader(status)
	w.Write(body)
}
