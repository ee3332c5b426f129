// Package webhooks registers webhook endpoints and delivers the domain
// events to them, signed as the Standard Webhooks specification says, at
// least once, with exponential back-off for up to a day.
package webhooks

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/webhookverify"
)

// NewSecret returns a new signing secret, "whsec_" and 32 random bytes in
// base64.
func NewSecret() string {
	var b [32]byte
	_, _ = crand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// Outcome is what became of one attempt.
type Outcome int

// The outcomes of an attempt.
const (
	// Delivered: the receiver answered 2xx.
	Delivered Outcome = iota
	// Retry: a timeout, a refused connection, a 5xx, a 429, a redirect
	// (never followed) or another answer; the attempt is made again later.
	Retry
	// Gone: the receiver answered 410; nothing more is sent to it until an
	// admin enables it again.
	Gone
)

// Result is one attempt's outcome, with the receiver's status (0 when there
// was no answer) and a short reason for a failure, which never repeats the
// body sent or received.
type Result struct {
	Outcome Outcome
	Status  int
	Error   string
}

// maxRead is how much of a receiver's answer is read: enough to keep the
// connection reusable for short answers, and bounded, so a receiver that
// answers with megabytes costs nothing more.
const maxRead = 4 << 10

// Sender makes delivery attempts.
type Sender struct {
	client *http.Client
	now    func() time.Time
}

// NewSender returns a Sender whose connections go through g's checked
// dialer, that never follows a redirect and gives each attempt timeout.
func NewSender(g Guard, timeout time.Duration) *Sender {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           g.Dialer(timeout).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Sender{now: time.Now, client: &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Send posts body, the event with id, to url, signed with every key in
// keys (two during a secret's rotation).
func (s *Sender) Send(ctx context.Context, url, id string, body []byte, keys [][]byte) Result {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = "v1," + webhookverify.Sign(k, id, ts, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return Result{Outcome: Retry, Error: "bad request"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Clientele-Webhooks/1")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Outcome: Retry, Error: reason(err)}
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxRead)
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return Result{Outcome: Delivered, Status: c}
	case c == http.StatusGone:
		return Result{Outcome: Gone, Status: c, Error: "410 Gone: the receiver asked for no more deliveries"}
	case c >= 300 && c < 400:
		return Result{Outcome: Retry, Status: c, Error: fmt.Sprintf("redirect %d not followed", c)}
	default:
		return Result{Outcome: Retry, Status: c, Error: fmt.Sprintf("status %d", c)}
	}
}

// reason names a transport failure without the URL the error repeats.
func reason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, ErrRefused.Error()):
		return "address refused"
	case strings.Contains(msg, "Client.Timeout") || strings.Contains(msg, "deadline exceeded") || strings.Contains(msg, "timeout"):
		return "timeout"
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "no such host"):
		return "host not found"
	case strings.Contains(msg, "tls") || strings.Contains(msg, "x509"):
		return "TLS failure"
	}
	return "connection failed"
}

// Window is how long a delivery is retried before it is given up as dead.
const Window = 24 * time.Hour

// Backoff returns the wait before attempt n+1 after n failed attempts:
// 5 s doubling to at most two hours, each drawn between half and all of
// that (jitter), so that receivers coming back are not hit in step.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 2*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 2*time.Hour)
	return d/2 + rand.N(d/2+1)
}
