package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// BenchmarkIntake files complaints as a machine client through the local
// gateway, naming the customer by an email that matches one customer and
// by one that matches none. The two must cost the same: the latency of the
// answer must not tell the client whether the contact is a customer's.
func BenchmarkIntake(b *testing.B) {
	e := testenv.New(b, testenv.WithConfig(func(c *app.Config) { c.ClientRateLimit = 0 }))
	mustCreate(e, e.Token("root", "admin"), map[string]any{"name": "Li Wei", "email": emailNorm})
	token := e.ClientToken("bench", crm.ScopeComplaintsWrite)
	client := e.Server.Client()
	file := func(email string) func() {
		body, _ := json.Marshal(map[string]any{"customer": map[string]any{"email": email}, "channel": "social", "category": "delivery",
			"severity": "high", "subject": "Parcel late", "description": "Still waiting"})
		return func() {
			req, _ := http.NewRequest("POST", e.Server.URL+"/complaints", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	}
	// Interleaved, so that a busy moment of the machine falls on both.
	matched, unmatched := file(emailNorm), file(unknownEmail)
	lat := map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for name, op := range map[string]func(){"matched": matched, "unmatched": unmatched} {
			start := time.Now()
			op()
			lat[name] = append(lat[name], time.Since(start))
		}
	}
	b.StopTimer()
	for name, l := range lat {
		slices.Sort(l)
		b.ReportMetric(float64(l[len(l)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(l[len(l)*9/10].Microseconds()), name+"-p90-µs")
	}
}
