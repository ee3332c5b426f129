package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
)

// The local identity provider's issuer and audience. They stand in for the
// Cognito user pool's issuer URL and app client id.
const (
	Issuer   = "https://clientele.local/idp"
	Audience = "clientele-local"
)

// SigningKey is the local identity provider's RSA key pair.
type SigningKey struct {
	Private *rsa.PrivateKey
	KeyID   string
	// clients names the file of the machine clients the local identity
	// provider has issued tokens to, one id a line: its registered app
	// clients.
	clients string
}

// LoadSigningKey reads the key pair at path, creating it (mode 0600) on
// first use. Two processes racing to create it agree on one key.
func LoadSigningKey(path string) (*SigningKey, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := createKey(path); err != nil {
			return nil, err
		}
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("signing key %s is not PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse signing key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing key %s is not RSA", path)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	sum := sha256.Sum256(der)
	return &SigningKey{Private: rk, KeyID: base64.RawURLEncoding.EncodeToString(sum[:12]), clients: path + ".clients"}, nil
}

func createKey(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("encode signing key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*")
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return fmt.Errorf("write signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write signing key: %w", err)
	}
	// Link fails if another process created the key first; theirs wins.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("install signing key: %w", err)
	}
	return nil
}

// Token mints an ID token for user with roles, as Cognito would: the roles
// in cognito:groups, signed RS256. It refuses a group name the API could not
// read back exactly, as the user pool holds none.
func (k *SigningKey) Token(user string, roles []string, now time.Time, ttl time.Duration) (string, error) {
	for _, r := range roles {
		if !api.ValidGroupName(r) {
			return "", fmt.Errorf("a group name must have no white space, quotes, backslashes, commas or brackets")
		}
	}
	claims := jwt.MapClaims{
		"iss": Issuer, "aud": Audience, "sub": user, "token_use": "id",
		"cognito:username": user, "cognito:groups": roles,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.KeyID
	return t.SignedString(k.Private)
}

// ClientToken mints an access token for a machine client, as Cognito's
// client-credentials grant does: sub and client_id are the client id, the
// scopes are space-separated in scope, and there is no aud and no groups.
func (k *SigningKey) ClientToken(clientID string, scopes []string, now time.Time, ttl time.Duration) (string, error) {
	if !api.ValidGroupName(clientID) {
		return "", fmt.Errorf("a client id must have no white space, quotes, backslashes, commas or brackets")
	}
	for _, s := range scopes {
		if !slices.Contains(crm.Scopes, s) {
			return "", fmt.Errorf("unknown scope %q: use %s", s, strings.Join(crm.Scopes, ", "))
		}
	}
	if err := k.register(clientID); err != nil {
		return "", err
	}
	claims := jwt.MapClaims{
		"iss": Issuer, "sub": clientID, "client_id": clientID, "token_use": "access", "scope": strings.Join(scopes, " "),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(),
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.KeyID
	return t.SignedString(k.Private)
}

// register records clientID as an app client of the local identity
// provider, as creating an app client (and adding it to the authorizer's
// audiences) does in the stack.
func (k *SigningKey) register(clientID string) error {
	if k.Registered(clientID) {
		return nil
	}
	f, err := os.OpenFile(k.clients, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("register client: %w", err)
	}
	// One short line per append: concurrent registrations do not
	// interleave.
	if _, err := f.WriteString(clientID + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("register client: %w", err)
	}
	return f.Close()
}

// Registered reports whether clientID is an app client of the local
// identity provider.
func (k *SigningKey) Registered(clientID string) bool {
	raw, err := os.ReadFile(k.clients)
	if err != nil || clientID == "" {
		return false
	}
	return slices.Contains(strings.Split(string(raw), "\n"), clientID)
}

// Verifier checks bearer tokens by the rules API Gateway's HTTP API JWT
// authorizer documents: the header's kid names a known key and alg is RS256;
// iss equals the issuer; aud includes the audience or, only when the token
// has no aud at all, client_id equals it; exp is in the future; nbf and iat,
// when present, are not.
type Verifier struct {
	Keys     map[string]*rsa.PublicKey
	Issuer   string
	Audience string
	// Clients accepts, besides Audience, the client_id of a token without
	// aud: the machine clients' app clients, which the deployed
	// authorizer lists as audiences. Nil accepts none.
	Clients func(clientID string) bool
	Now     func() time.Time
}

// NewVerifier trusts the public half of k, and the machine clients it
// has issued tokens to.
func NewVerifier(k *SigningKey) *Verifier {
	return &Verifier{Keys: map[string]*rsa.PublicKey{k.KeyID: &k.Private.PublicKey}, Issuer: Issuer, Audience: Audience,
		Clients: k.Registered, Now: time.Now}
}

// maxToken bounds the bearer token the verifier parses; API Gateway refuses
// far smaller headers than this anyway.
const maxToken = 16 << 10

// errToken is the verifier's one error: which rule a token broke is for the
// identity provider's logs, not for whoever presented it.
var errToken = errors.New("the token is invalid, expired or not issued for this API")

// Verify returns the token's claims, or errToken.
func (v *Verifier) Verify(token string) (jwt.MapClaims, error) {
	if len(token) > maxToken {
		return nil, errToken
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := v.Keys[kid]; ok {
			return k, nil
		}
		return nil, errors.New("unknown signing key")
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithIssuer(v.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(v.Now),
		jwt.WithLeeway(0),
	)
	if err != nil {
		return nil, errToken
	}
	if _, hasAud := claims["aud"]; hasAud {
		aud, err := claims.GetAudience()
		if err != nil || !slices.Contains(aud, v.Audience) {
			return nil, errToken
		}
	} else if clientID, _ := claims["client_id"].(string); clientID != v.Audience && (v.Clients == nil || clientID == "" || !v.Clients(clientID)) {
		return nil, errToken
	}
	return claims, nil
}
