package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/notify"
)

// outboxPath returns a not yet existing outbox path in a fresh directory.
func outboxPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), ".clientele", "outbox.jsonl")
}

func TestOutboxRoundTrip(t *testing.T) {
	path := outboxPath(t)
	o := notify.NewOutbox(path, nil)
	want := []crm.Notification{sample("n-1"), sample("n-2"), sample("n-3")}
	for _, n := range want {
		if err := o.Notify(context.Background(), n); err != nil {
			t.Fatalf("Notify(%s): %v", n.ID, err)
		}
	}

	got, err := notify.ReadOutbox(path)
	if err != nil {
		t.Fatalf("ReadOutbox: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadOutbox = %v, want %v", got, want)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("mode of %s = %o, want %o", filepath.Base(c.path), got, c.want)
		}
	}
}

func TestOutboxCanceled(t *testing.T) {
	path := outboxPath(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	err := notify.NewOutbox(path, nil).Notify(ctx, sample("n-1"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Notify = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("outbox written after cancel (stat: %v)", err)
	}
}

func TestOutboxConcurrentAppends(t *testing.T) {
	path := outboxPath(t)
	// Two Outboxes on one file stand in for two processes: they share no
	// mutex, so only O_APPEND keeps their lines whole.
	outboxes := []*notify.Outbox{notify.NewOutbox(path, nil), notify.NewOutbox(path, nil)}
	const goroutines, each = 20, 25
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				n := sample(fmt.Sprintf("n-%d-%d", g, i))
				if err := outboxes[g%2].Notify(context.Background(), n); err != nil {
					t.Errorf("Notify(%s): %v", n.ID, err)
				}
			}
		})
	}
	wg.Wait()

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var n crm.Notification
		if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
			t.Fatalf("line %q is not a notification: %v", sc.Text(), err)
		}
		seen[n.ID] = true
	}
	if len(seen) != goroutines*each {
		t.Errorf("outbox holds %d distinct notifications, want %d", len(seen), goroutines*each)
	}
	if got, err := notify.ReadOutbox(path); err != nil || len(got) != goroutines*each {
		t.Errorf("ReadOutbox = %d notifications (%v), want %d", len(got), err, goroutines*each)
	}
}

func TestReadOutbox(t *testing.T) {
	line := func(id string) string {
		b, _ := json.Marshal(sample(id))
		return string(b) + "\n"
	}
	tests := []struct {
		name    string
		content *string // nil: no file
		want    []crm.Notification
		wantErr string
	}{
		{"missing file is empty", nil, nil, ""},
		{"empty file is empty", new(""), nil, ""},
		{"blank lines skipped", new(line("n-1") + "\n  \n" + line("n-2")), []crm.Notification{sample("n-1"), sample("n-2")}, ""},
		{"ErrBadLine names the line", new(line("n-1") + "{\"id\":\n"), nil, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.jsonl")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := notify.ReadOutbox(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ReadOutbox error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadOutbox: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ReadOutbox = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOutboxLogsIDsOnly(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	o := notify.NewOutbox(outboxPath(t), log)
	n := sample("n-1")

	if err := o.Notify(context.Background(), n); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1: %s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{slog.TimeKey, slog.LevelKey, slog.MessageKey} {
		delete(rec, k)
	}
	want := map[string]any{
		"kind":          n.Kind,
		"recipientType": n.RecipientType,
		"recipientId":   n.RecipientID,
		"subjectId":     n.SubjectID,
	}
	if !maps.Equal(rec, want) {
		t.Errorf("log attributes = %v, want exactly the ids %v", rec, want)
	}
}
