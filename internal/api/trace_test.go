package api

import "testing"

func TestTraceRoot(t *testing.T) {
	for header, want := range map[string]string{
		"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1":                                "1-5759e988-bd862e3fe1be46a994272793",
		"Self=1-67891233-abcdef012345678912345678;Root=1-5759e988-bd862e3fe1be46a994272793": "1-5759e988-bd862e3fe1be46a994272793",
		"":                       "",
		"Root=alice@example.com": "",
		"Root=1-5759e988-bd862e3fe1be46a99427279Z": "",
	} {
		if got := traceRoot(header); got != want {
			t.Errorf("traceRoot(%q) = %q, want %q", header, got, want)
		}
	}
}
