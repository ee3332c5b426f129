package webhookverify_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/webhookverify"
)

func signed(t *testing.T, secret, id string, at time.Time, body []byte) http.Header {
	t.Helper()
	key, err := webhookverify.Key(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", "v1,"+webhookverify.Sign(key, id, ts, body))
	return h
}

func TestVerify(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of thirty-two bytes!"))
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1","type":"customer.created"}`)
	h := signed(t, secret, "evt_1", now, body)

	if err := webhookverify.Verify(secret, h, body, now.Add(time.Minute)); err != nil {
		t.Fatalf("genuine delivery refused: %v", err)
	}
	if err := webhookverify.Verify(secret, h, []byte(`{"id":"evt_1","type":"customer.erased"}`), now); !errors.Is(err, webhookverify.ErrSignature) {
		t.Errorf("changed body: %v, want ErrSignature", err)
	}
	if err := webhookverify.Verify(secret, h, body, now.Add(webhookverify.Tolerance+time.Second)); !errors.Is(err, webhookverify.ErrTimestamp) {
		t.Errorf("old timestamp: %v, want ErrTimestamp", err)
	}
	if err := webhookverify.Verify(other, h, body, now); !errors.Is(err, webhookverify.ErrSignature) {
		t.Errorf("wrong secret: %v, want ErrSignature", err)
	}
	// During a rotation two signatures travel; either secret verifies.
	h2 := signed(t, other, "evt_1", now, body)
	h.Set("webhook-signature", h.Get("webhook-signature")+" "+h2.Get("webhook-signature"))
	for _, s := range []string{secret, other} {
		if err := webhookverify.Verify(s, h, body, now); err != nil {
			t.Errorf("rotation: %v", err)
		}
	}
	if err := webhookverify.Verify("not-a-secret", h, body, now); !errors.Is(err, webhookverify.ErrSecret) {
		t.Errorf("bad secret: %v", err)
	}
}
