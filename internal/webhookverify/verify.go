// Package webhookverify checks a Clientele webhook delivery, as a receiver
// would: the Standard Webhooks signature over "<id>.<timestamp>.<body>"
// and the timestamp's freshness. docs/integrations.md quotes this file; it
// is small and depends on the standard library alone, so a receiver can
// copy it.
package webhookverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Tolerance is how far a delivery's timestamp may be from the receiver's
// clock, either way, before it is refused as a replay.
const Tolerance = 5 * time.Minute

// ErrSignature, ErrTimestamp and ErrSecret say why a delivery was refused.
var (
	ErrSignature = errors.New("webhookverify: no matching signature")
	ErrTimestamp = errors.New("webhookverify: timestamp missing or outside the tolerance")
	ErrSecret    = errors.New("webhookverify: secret is not whsec_<base64>")
)

// Verify checks a delivery's headers and raw body against secret (the
// "whsec_…" value shown when the webhook was created or its secret
// rotated) as of now. During a rotation the signature header carries
// several space-separated "v1,<sig>" values; one matching is enough.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := Key(secret)
	if err != nil {
		return err
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return ErrTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return ErrTimestamp
	}
	want := Sign(key, id, ts, body)
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		v, s, ok := strings.Cut(sig, ",")
		if ok && v == "v1" && hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrSignature
}

// Key decodes a "whsec_<base64>" secret into the HMAC key.
func Key(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, ErrSecret
	}
	return key, nil
}

// Sign returns the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" under
// key: the part of a "v1,<sig>" value after the comma.
func Sign(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
