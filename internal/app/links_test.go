package app_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestFunctionsLinkOnlyTheirEdges checks, from the build graph, that each
// Lambda function links the heavy packages only where its routes and
// events need them: the package graph is what decides a binary's size and
// its package initialization.
func TestFunctionsLinkOnlyTheirEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("lists the build graph of every function")
	}
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "../../functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		deps[f[0][strings.LastIndex(f[0], "/")+1:]] = f[1:]
	}
	const (
		phone = "github.com/clientele-crm/clientele/internal/phone"
		// The library whose metadata internal/phone carries: tests and
		// its generator use it, no function links it.
		library    = "github.com/nyaruka/phonenumbers"
		disposable = "github.com/clientele-crm/clientele/internal/disposable"
		language   = "golang.org/x/text/language"
		sns        = "github.com/aws/aws-sdk-go-v2/service/sns"
		sqs        = "github.com/aws/aws-sdk-go-v2/service/sqs"
		bus        = "github.com/aws/aws-sdk-go-v2/service/eventbridge"
		rpc        = "net/rpc"
		// The default credential chain (SSO, STS, IMDS, profiles): a
		// Lambda function reads its credentials from its environment.
		chain = "github.com/aws/aws-sdk-go-v2/config"
	)
	want := map[string][]string{
		"customers":  {phone, disposable, language, sqs},
		"imports":    {phone, disposable, language, sqs},
		"complaints": {sns},
		"reminders":  {sns},
		"webhooks":   {sns},
		"reports":    {sqs, bus},
	}
	if len(deps) != len(want) {
		t.Fatalf("functions %v, want the %d this test knows", slices.Sorted(maps.Keys(deps)), len(want))
	}
	for fn, links := range want {
		d, ok := deps[fn]
		if !ok {
			t.Errorf("no function %s", fn)
			continue
		}
		for _, p := range []string{phone, library, disposable, language, sns, sqs, bus, rpc, chain} {
			if got, should := slices.Contains(d, p), slices.Contains(links, p); got != should {
				t.Errorf("%s links %s: %v, want %v", fn, p, got, should)
			}
		}
	}
}
