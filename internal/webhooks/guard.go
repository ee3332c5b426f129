package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is returned for a URL or an address that webhooks may not
// reach.
var ErrRefused = errors.New("webhook address refused")

// Guard decides which endpoints webhooks may be sent to. On AWS only
// https:// to public addresses; the local runtime also allows plain http
// to the loopback interface, where a developer's receiver listens.
type Guard struct {
	// AllowLoopback admits http://127.0.0.1:* and http://localhost:* (and
	// nothing else that is not public). Only the local runtime sets it.
	AllowLoopback bool
	// Resolve looks a host up; nil uses the default resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// blocked are the ranges no webhook may reach: loopback, private,
// link-local (and with it the instance metadata service), CGNAT,
// unspecified, multicast, documentation and other special-use ranges, in
// IPv4 and IPv6, including IPv4 addresses written in IPv6 form.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "fd00:ec2::254/128",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether a is an address webhooks may reach.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckURL validates a webhook URL as registered: its form, and that its
// host resolves to allowed addresses only. The message names what is
// wrong, never more of the URL than the caller gave.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%w: not an absolute URL with a host", ErrRefused)
	}
	host := u.Hostname()
	local := g.AllowLoopback && u.Scheme == "http" && (host == "127.0.0.1" || host == "localhost") && u.Port() != ""
	if u.Scheme != "https" && !local {
		return fmt.Errorf("%w: only https URLs are accepted", ErrRefused)
	}
	if local {
		return nil
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return fmt.Errorf("%w: the host does not resolve", ErrRefused)
	}
	for _, a := range addrs {
		if !Public(a) {
			return fmt.Errorf("%w: the host resolves to a private or reserved address", ErrRefused)
		}
	}
	return nil
}

func (g Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	if g.Resolve != nil {
		return g.Resolve(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Dialer returns a dialer that checks the address it is about to connect
// to, after name resolution: a name that resolved to a public address at
// registration, or at the check a moment ago, and to a private one now
// (DNS rebinding) is refused at connect time.
func (g Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		if Public(ap.Addr()) || (g.AllowLoopback && ap.Addr().Unmap().IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%w: a private or reserved address", ErrRefused)
	}}
}
