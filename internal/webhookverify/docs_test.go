package webhookverify_test

import (
	"os"
	"strings"
	"testing"
)

// TestDocsQuoteTheVerifier keeps the verifier printed in
// docs/integrations.md identical to this package, which the tests run.
func TestDocsQuoteTheVerifier(t *testing.T) {
	src, err := os.ReadFile("verify.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/integrations.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(src)+"```") {
		t.Error("docs/integrations.md does not quote internal/webhookverify/verify.go as it is")
	}
}
