package main

import (
	"bytes"
	"os"
	"testing"
)

// TestTerritoriesUpToDate fails when territories.go is not what the pinned
// module's metadata generates, as after a version change without go
// generate.
func TestTerritoriesUpToDate(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../territories.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("territories.go is stale: run go generate ./internal/phone")
	}
}
