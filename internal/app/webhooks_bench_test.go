package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/events"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestWebhookThroughput delivers WEBHOOK_BENCH events (10 000 in
// docs/benchmarks.md) to a receiver on loopback while they are being fanned
// out, and reports throughput, the time from fan-out (the stream
// consumer's hand-off) to arrival, and duplicates. It runs only when
// WEBHOOK_BENCH is set.
func TestWebhookThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WEBHOOK_BENCH"))
	if n <= 0 {
		t.Skip("set WEBHOOK_BENCH=<events> to run")
	}
	e := testenv.New(t, testenv.WithConfig(loopback))
	var (
		mu      sync.Mutex
		seen    = map[string]int{}
		latency []time.Duration
		done    = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev events.Event
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		defer mu.Unlock()
		seen[ev.ID]++
		latency = append(latency, time.Since(ev.At))
		if len(seen) == n && seen[ev.ID] == 1 {
			close(done)
		}
	}))
	defer srv.Close()
	createWebhook(t, e, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := appWorker(e, 5*time.Second)
	go w.Run(ctx, 20*time.Millisecond)
	start := time.Now()
	for i := range n {
		ev := sampleEvent(i)
		ev.At = time.Now().UTC()
		if err := e.Services.Webhooks.Fanout(ctx, []events.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Minute):
		t.Fatal("not all events arrived")
	}
	elapsed := time.Since(start)
	cancel()
	mu.Lock()
	defer mu.Unlock()
	dups := len(latency) - len(seen)
	slices.Sort(latency)
	q := func(p float64) time.Duration { return latency[int(p*float64(len(latency)-1))] }
	t.Logf("%d events, %d deliveries, %d duplicates in %s: %.0f deliveries/s; fan-out to arrival p50 %s p99 %s max %s",
		n, len(latency), dups, elapsed.Round(time.Millisecond), float64(len(latency))/elapsed.Seconds(),
		q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), latency[len(latency)-1].Round(time.Millisecond))
	if dups != 0 {
		t.Errorf("%d duplicates without faults", dups)
	}
}
