package crm

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Statuses of a background import.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// Import is a background bulk import: its progress and who started it.
// It holds counts and ids only, never the rows' contents.
type Import struct {
	ID         string
	Status     string
	Rows       int
	Processed  int
	Created    int
	Rejected   int
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// Actor started the import; every customer it creates is audited as
	// created by them.
	Actor Actor
	// Chunks is how many chunks the rows were stored in, and NextChunk the
	// first one not yet recorded as processed.
	Chunks    int
	NextChunk int
}

// ImportRow is one row of an import file as stored until processed.
type ImportRow struct {
	// N is the row's number in the file, 1 for the first data row.
	N int `json:"n"`
	// Raw is the row as a JSON customer object; nil when Errors says why
	// the file's row could not be read.
	Raw []byte `json:"j,omitempty"`
	// Errors are the problems found reading the row from the file.
	Errors []FieldError `json:"e,omitempty"`
}

// ImportRowResult is what became of one rejected row: the fields and codes
// at fault, never the values.
type ImportRowResult struct {
	Row         int
	Errors      []FieldError
	DuplicateOf string
}

// ChunkOutcome is what processing one chunk came to.
type ChunkOutcome struct {
	Processed, Created, Rejected int
	// Rejects are the chunk's rejected rows.
	Rejects []ImportRowResult
}

// ImportTask asks for one chunk of an import to be processed.
type ImportTask struct {
	ImportID string `json:"importId"`
	Chunk    int    `json:"chunk"`
}

// ImportQueue delivers import tasks to Imports.Process, at least once.
type ImportQueue interface {
	Enqueue(ctx context.Context, t ImportTask) error
}

// ImportStore persists imports, their rows until processed, and the
// rejected rows' results. Implementations seal the stored rows.
type ImportStore interface {
	// CreateImport stores a queued import and its rows in chunks.
	CreateImport(ctx context.Context, imp Import, chunks [][]ImportRow) error
	// GetImport returns an import. Returns ENOTFOUND.
	GetImport(ctx context.Context, id string) (Import, error)
	// ImportChunk returns the rows of one chunk not yet processed. Returns
	// ENOTFOUND when the chunk is gone.
	ImportChunk(ctx context.Context, id string, chunk int) ([]ImportRow, error)
	// StartImport marks a queued import running as of at; it does nothing
	// to one already started.
	StartImport(ctx context.Context, id string, at time.Time) error
	// FinishChunk records a processed chunk once: it stores the rejects,
	// adds the counts, advances NextChunk past chunk and deletes the
	// chunk's rows; after the last chunk the import is done as of at.
	// Recording a chunk already recorded changes nothing.
	FinishChunk(ctx context.Context, imp Import, chunk int, out ChunkOutcome, at time.Time) error
	// FailImport marks an import that cannot finish failed as of at and
	// deletes the rows not processed.
	FailImport(ctx context.Context, id string, at time.Time) error
	// ListImportRows returns a page of an import's rejected rows, by row.
	ListImportRows(ctx context.Context, id string, p Page) ([]ImportRowResult, string, error)
}

// Imports runs background bulk imports: Start stores the rows and queues
// the first chunk; Process, fed by the queue, creates each chunk's
// customers through Customers.Import, as POST /customers would, and queues
// the next chunk. Chunks of one import run in order, so a row is checked
// for duplicates against the table and every earlier row.
type Imports struct {
	Store     ImportStore
	Customers *Customers
	Queue     ImportQueue
	// Decode reads one row's JSON object strictly, as the body of POST
	// /customers is read, naming every bad field.
	Decode func(raw []byte) (CustomerInput, error)
	Now    func() time.Time
	NewID  func(prefix string) string
	// ChunkRows and ChunkBytes bound one chunk (defaults 500 rows, 256
	// KiB): a chunk is one stored item and one unit of work.
	ChunkRows, ChunkBytes int
	// Concurrency is how many rows of a chunk are written at once
	// (default 16).
	Concurrency int
}

// Start stores rows as a new import by actor, an admin, and queues it.
// Returns EFORBIDDEN, EINVALID for no rows, or the store's and queue's
// errors.
func (s *Imports) Start(ctx context.Context, actor Actor, rows []ImportRow) (Import, error) {
	if !actor.Has(RoleAdmin) {
		return Import{}, Errorf(EFORBIDDEN, "only an admin may import")
	}
	if len(rows) == 0 {
		return Import{}, Invalid{{Field: "body", Code: "required", Message: "at least one row is required"}}.Err()
	}
	chunks := s.chunk(rows)
	imp := Import{ID: s.NewID("imp"), Status: ImportQueued, Rows: len(rows), CreatedAt: s.Now().UTC(), Actor: actor, Chunks: len(chunks)}
	if err := s.Store.CreateImport(ctx, imp, chunks); err != nil {
		return Import{}, err
	}
	if err := s.Queue.Enqueue(ctx, ImportTask{ImportID: imp.ID}); err != nil {
		// Nothing will run it: say so on the import rather than leave it
		// queued for ever, and purge its rows.
		if ferr := s.Store.FailImport(context.WithoutCancel(ctx), imp.ID, s.Now().UTC()); ferr != nil {
			return Import{}, ferr
		}
		return Import{}, err
	}
	return imp, nil
}

func (s *Imports) chunk(rows []ImportRow) [][]ImportRow {
	maxRows, maxBytes := or0(s.ChunkRows, 500), or0(s.ChunkBytes, 256<<10)
	var chunks [][]ImportRow
	var cur []ImportRow
	size := 0
	for _, r := range rows {
		n := len(r.Raw) + 64
		if len(cur) > 0 && (len(cur) == maxRows || size+n > maxBytes) {
			chunks, cur, size = append(chunks, cur), nil, 0
		}
		cur, size = append(cur, r), size+n
	}
	return append(chunks, cur)
}

func or0(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Get returns an import. Returns ENOTFOUND.
func (s *Imports) Get(ctx context.Context, id string) (Import, error) {
	return s.Store.GetImport(ctx, id)
}

// Rejected returns a page of an import's rejected rows. Returns ENOTFOUND.
func (s *Imports) Rejected(ctx context.Context, id string, p Page) ([]ImportRowResult, string, error) {
	if _, err := s.Store.GetImport(ctx, id); err != nil {
		return nil, "", err
	}
	return s.Store.ListImportRows(ctx, id, p)
}

// Process processes the chunk t names and queues the next. It may run more
// than once for the same task, even concurrently: customer ids derive from
// the import and the row, and a chunk's outcome is recorded once. Returns
// an error, for the queue to deliver t again, when a dependency failed.
func (s *Imports) Process(ctx context.Context, t ImportTask) error {
	imp, err := s.Store.GetImport(ctx, t.ImportID)
	if ErrorCode(err) == ENOTFOUND {
		return nil // nothing to do for an import that is not there
	}
	if err != nil {
		return err
	}
	switch {
	case imp.Status == ImportDone || imp.Status == ImportFailed:
		return nil
	case imp.NextChunk > t.Chunk:
		// Recorded already, perhaps by a run that stopped before queueing
		// the next chunk: queue it, so the import goes on.
		return s.Queue.Enqueue(ctx, ImportTask{ImportID: imp.ID, Chunk: imp.NextChunk})
	case imp.NextChunk < t.Chunk:
		return Errorf(EUNAVAILABLE, "import %s chunk %d waits for chunk %d", imp.ID, t.Chunk, imp.NextChunk)
	}
	if imp.Status == ImportQueued {
		if err := s.Store.StartImport(ctx, imp.ID, s.Now().UTC()); err != nil {
			return err
		}
	}
	rows, err := s.Store.ImportChunk(ctx, imp.ID, t.Chunk)
	if err != nil {
		return err
	}
	out, err := s.processRows(ctx, imp, rows)
	if err != nil {
		return err
	}
	if err := s.Store.FinishChunk(ctx, imp, t.Chunk, out, s.Now().UTC()); err != nil {
		return err
	}
	if t.Chunk+1 < imp.Chunks {
		return s.Queue.Enqueue(ctx, ImportTask{ImportID: imp.ID, Chunk: t.Chunk + 1})
	}
	return nil
}

// Fail marks an import whose task the queue gave up on failed.
func (s *Imports) Fail(ctx context.Context, id string) error {
	return s.Store.FailImport(ctx, id, s.Now().UTC())
}

// ImportCustomerID is the id of the customer that row n of import id
// creates: the same on every run, so that a re-run converges.
func ImportCustomerID(importID string, n int) string {
	sum := sha256.Sum256([]byte(importID + "#" + strconv.Itoa(n)))
	return "c_" + importIDs.EncodeToString(sum[:13])[:20]
}

var importIDs = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// processRows creates the customers of rows. Rows are written
// concurrently, except that a row sharing a phone, email or national ID
// with an earlier row of the chunk waits for it, so the earlier row is the
// one created and the later the duplicate, as if the file were read in
// order.
func (s *Imports) processRows(ctx context.Context, imp Import, rows []ImportRow) (ChunkOutcome, error) {
	type result struct {
		res     ImportRowResult
		created bool
		err     error
	}
	inputs := make([]CustomerInput, len(rows))
	results := make([]result, len(rows))
	waves := [][]int{}
	last := map[string]int{}
	for i, r := range rows {
		results[i].res.Row = r.N
		if len(r.Errors) > 0 {
			results[i].res.Errors = r.Errors
			continue
		}
		in, err := s.Decode(r.Raw)
		if err != nil {
			results[i].err = err
			continue
		}
		inputs[i] = in
		wave := 0
		var keys []string
		if std, err := s.Customers.Policy.Standardize(in); err == nil {
			for f, v := range map[string]string{FieldPhone: std.Phone, FieldEmail: std.Email, FieldNationalID: std.NationalID} {
				if v != "" {
					k := f + "\x00" + v
					keys = append(keys, k)
					if w, ok := last[k]; ok && w+1 > wave {
						wave = w + 1
					}
				}
			}
		}
		for _, k := range keys {
			last[k] = wave
		}
		for len(waves) <= wave {
			waves = append(waves, nil)
		}
		waves[wave] = append(waves[wave], i)
	}
	sem := make(chan struct{}, or0(s.Concurrency, 16))
	for _, wave := range waves {
		var wg sync.WaitGroup
		for _, i := range wave {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				_, err := s.Customers.Import(ctx, imp.Actor, ImportCustomerID(imp.ID, rows[i].N), inputs[i])
				if err == nil {
					results[i].created = true
				}
				results[i].err = err
			})
		}
		wg.Wait()
	}
	var out ChunkOutcome
	for _, r := range results {
		out.Processed++
		switch code := ErrorCode(r.err); {
		case r.created:
			out.Created++
			continue
		case r.err == nil:
		case code == EINVALID || code == ECONFLICT || code == EFORBIDDEN:
			var e *Error
			errors.As(r.err, &e)
			r.res.Errors, r.res.DuplicateOf = e.Fields, e.DuplicateOf
			if len(r.res.Errors) == 0 {
				r.res.Errors = []FieldError{{Field: "row", Code: code, Message: e.Message}}
			}
		default:
			// A dependency failed: the whole chunk is run again later,
			// and the rows it created converge.
			return ChunkOutcome{}, r.err
		}
		out.Rejected++
		out.Rejects = append(out.Rejects, r.res)
	}
	return out, nil
}
