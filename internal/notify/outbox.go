package notify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Outbox is the local stand-in for SNS: a crm.Notifier that appends each
// notification as one JSON line to a file, for a developer to read with
// ReadOutbox. It is safe for concurrent use, also by several processes
// sharing the file: each line goes to the file in a single O_APPEND write,
// which the kernel does not interleave with other appends.
type Outbox struct {
	path string
	log  *slog.Logger

	// mu serializes appends within the process, so that even a write the
	// kernel cuts short (os.File.Write then writes the rest) cannot interleave
	// with another goroutine's. Across processes the single O_APPEND write is
	// the only guarantee.
	mu sync.Mutex
}

var _ crm.Notifier = (*Outbox)(nil)

// NewOutbox returns an Outbox appending to the file at path (for example
// ".clientele/outbox.jsonl"), creating it with mode 0600, and its directory
// with 0700, on first use. Each notification is logged to log as one line of
// ids; a nil log discards them.
func NewOutbox(path string, log *slog.Logger) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{path: path, log: log}
}

// Notify appends n to the outbox file.
func (o *Outbox) Notify(ctx context.Context, n crm.Notification) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox %s: %w", n.ID, err)
	}
	line, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("outbox %s: %w", n.ID, err)
	}
	line = append(line, '\n')
	if err := o.append(line); err != nil {
		return fmt.Errorf("outbox %s: %w", n.ID, err)
	}
	// Ids only: the recipient and subject are looked up by whoever reads the
	// outbox, so nothing personal reaches the log.
	o.log.InfoContext(ctx, "notification queued",
		"kind", n.Kind,
		"recipientType", n.RecipientType,
		"recipientId", n.RecipientID,
		"subjectId", n.SubjectID,
	)
	return nil
}

func (o *Outbox) append(line []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if dir := filepath.Dir(o.path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	// Opening per call, not once, lets a developer delete or truncate the
	// outbox while the server runs.
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(line)
	return errors.Join(err, f.Close())
}

// maxOutboxLine bounds one line of the outbox; notifications are a few hundred
// bytes, so a longer line is a corrupt file.
const maxOutboxLine = 1 << 20

// ReadOutbox returns the notifications in the outbox file at path, oldest
// first. A missing file is an empty outbox. Blank lines are skipped; a line
// that is not a notification is an error naming its line number.
func ReadOutbox(path string) ([]crm.Notification, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer f.Close()

	var out []crm.Notification
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxOutboxLine)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var n crm.Notification
		if err := json.Unmarshal(b, &n); err != nil {
			return nil, fmt.Errorf("read outbox line %d: %w", line, err)
		}
		out = append(out, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return out, nil
}
