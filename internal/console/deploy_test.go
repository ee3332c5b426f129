package console_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/console"
)

// TestDeployableLeavesOutLocalSignIn: the AWS build carries every file but
// the local sign-in, and no file it carries refers to one it leaves out (a
// page would otherwise load a script that is not there).
func TestDeployableLeavesOutLocalSignIn(t *testing.T) {
	var kept, left []string
	err := fs.WalkDir(console.Assets(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if console.Deployable(p) {
			kept = append(kept, p)
		} else {
			left = append(left, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(left, " ") != "js/localsignin.js local-sign-in.html" {
		t.Errorf("left out %v, want the local sign-in page and its script", left)
	}
	for _, want := range []string{"index.html", "self-service.html", "app.css", "js/auth.js", "js/app.js", "js/selfservice.js"} {
		if !console.Deployable(want) {
			t.Errorf("%s is not deployed", want)
		}
	}
	for _, p := range kept {
		b, err := fs.ReadFile(console.Assets(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range left {
			if base := l[strings.LastIndex(l, "/")+1:]; strings.Contains(string(b), base) {
				t.Errorf("%s refers to %s, which is not deployed", p, base)
			}
		}
	}
	for page, file := range console.Pages() {
		if !console.Deployable(strings.TrimPrefix(file, "/")) {
			t.Errorf("page %s is served by %s, which is not deployed", page, file)
		}
	}
}
