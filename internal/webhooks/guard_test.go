package webhooks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/webhooks"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1:248:1893:25c8:1946": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fd00::1": false, "fd00:ec2::254": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false,
	} {
		if got := webhooks.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func resolver(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, a := range m[host] {
			out = append(out, netip.MustParseAddr(a))
		}
		if len(out) == 0 {
			return nil, errors.New("no such host")
		}
		return out, nil
	}
}

func TestCheckURL(t *testing.T) {
	res := resolver(map[string][]string{"hooks.example.com": {"93.184.216.34"}, "inside.example.com": {"93.184.216.34", "10.0.0.7"},
		"meta.example.com": {"169.254.169.254"}})
	aws := webhooks.Guard{Resolve: res}
	local := webhooks.Guard{Resolve: res, AllowLoopback: true}
	ctx := context.Background()
	for _, c := range []struct {
		g   webhooks.Guard
		url string
		ok  bool
	}{
		{aws, "https://hooks.example.com/in", true},
		{aws, "http://hooks.example.com/in", false},
		{aws, "https://inside.example.com/in", false},
		{aws, "https://meta.example.com/latest", false},
		{aws, "https://127.0.0.1:8443/in", false},
		{aws, "https://[::1]/in", false},
		{aws, "https://nowhere.example.com/in", false},
		{aws, "http://127.0.0.1:9000/in", false},
		{aws, "https://user:pw@hooks.example.com/in", false},
		{aws, "hooks.example.com/in", false},
		{local, "http://127.0.0.1:9000/in", true},
		{local, "http://localhost:9000/in", true},
		{local, "http://10.0.0.7:9000/in", false},
		{local, "https://hooks.example.com/in", true},
	} {
		err := c.g.CheckURL(ctx, c.url)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%s, loopback %v) = %v, want ok %v", c.url, c.g.AllowLoopback, err, c.ok)
		}
	}
}

// TestDialerRefusesRebinding: a name checked as public that points at a
// private address by the time of delivery is refused at connect time.
func TestDialerRefusesRebinding(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := webhooks.NewSender(webhooks.Guard{}, 2*time.Second)
	res := s.Send(context.Background(), srv.URL, "evt_1", []byte(`{}`), [][]byte{[]byte("k")})
	if res.Outcome != webhooks.Retry || res.Error != "address refused" || hits.Load() != 0 {
		t.Errorf("delivery to loopback on AWS: %+v, %d hits", res, hits.Load())
	}
	local := webhooks.NewSender(webhooks.Guard{AllowLoopback: true}, 2*time.Second)
	if res := local.Send(context.Background(), srv.URL, "evt_1", []byte(`{}`), [][]byte{[]byte("k")}); res.Outcome != webhooks.Delivered || hits.Load() != 1 {
		t.Errorf("local delivery: %+v", res)
	}
}

func TestBackoff(t *testing.T) {
	total := time.Duration(0)
	prev := time.Duration(0)
	for n := 1; n <= 30; n++ {
		d := webhooks.Backoff(n)
		if d <= 0 || d > 2*time.Hour {
			t.Fatalf("Backoff(%d) = %s", n, d)
		}
		if n <= 5 && d < prev/2 {
			t.Errorf("Backoff(%d) = %s shrank from %s", n, d, prev)
		}
		prev = d
		total += d
	}
	// Thirty attempts span the retry window, so a receiver down for a day
	// is tried throughout it.
	if total < webhooks.Window {
		t.Errorf("30 attempts span only %s", total)
	}
}
