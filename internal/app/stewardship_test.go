package app_test

import (
	"os"
	"slices"
	"testing"

	"github.com/clientele-crm/clientele/internal/app"
)

// TestFourEyesSetting reads FOUR_EYES through the process environment, as
// the functions and the CLI do: unset keeps the default, set empty turns
// approval off, as does "off", and a list names what waits.
func TestFourEyesSetting(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   bool
		value string
		want  []string
	}{
		{"Unset", false, "", []string{"billing", "erase"}},
		{"Empty", true, "", nil},
		{"Blank", true, "  ", nil},
		{"Off", true, "off", nil},
		{"List", true, "merge,billing", []string{"billing", "merge"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("FOUR_EYES", "placeholder") // restored after the test
			if tc.set {
				t.Setenv("FOUR_EYES", tc.value)
			} else {
				unsetenv(t, "FOUR_EYES")
			}
			c, err := app.LoadEnviron(os.LookupEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Sorted(slices.Values(c.FourEyes.Kinds))
			if !slices.Equal(got, tc.want) {
				t.Errorf("kinds %v, want %v", got, tc.want)
			}
		})
	}
}

func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
