package crm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// memImports is an in-memory crm.ImportStore that keeps the contract's
// once-only recording of chunks.
type memImports struct {
	mu      sync.Mutex
	imports map[string]crm.Import
	chunks  map[string][]crm.ImportRow
	rejects map[string][]crm.ImportRowResult
}

func newMemImports() *memImports {
	return &memImports{imports: map[string]crm.Import{}, chunks: map[string][]crm.ImportRow{}, rejects: map[string][]crm.ImportRowResult{}}
}

func chunkKey(id string, n int) string { return fmt.Sprintf("%s#%d", id, n) }

func (m *memImports) CreateImport(_ context.Context, imp crm.Import, chunks [][]crm.ImportRow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.imports[imp.ID] = imp
	for n, rows := range chunks {
		m.chunks[chunkKey(imp.ID, n)] = rows
	}
	return nil
}

func (m *memImports) GetImport(_ context.Context, id string) (crm.Import, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp, ok := m.imports[id]
	if !ok {
		return crm.Import{}, crm.Errorf(crm.ENOTFOUND, "import %s not found", id)
	}
	return imp, nil
}

func (m *memImports) ImportChunk(_ context.Context, id string, n int) ([]crm.ImportRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, ok := m.chunks[chunkKey(id, n)]
	if !ok {
		return nil, crm.Errorf(crm.ENOTFOUND, "chunk not found")
	}
	return rows, nil
}

func (m *memImports) StartImport(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp := m.imports[id]
	if imp.Status == crm.ImportQueued {
		imp.Status, imp.StartedAt = crm.ImportRunning, at
		m.imports[id] = imp
	}
	return nil
}

func (m *memImports) FinishChunk(_ context.Context, imp crm.Import, n int, out crm.ChunkOutcome, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.imports[imp.ID]
	if cur.NextChunk != n {
		return nil
	}
	cur.Processed += out.Processed
	cur.Created += out.Created
	cur.Rejected += out.Rejected
	cur.NextChunk = n + 1
	if cur.NextChunk == cur.Chunks {
		cur.Status, cur.FinishedAt = crm.ImportDone, at
	}
	m.imports[imp.ID] = cur
	m.rejects[imp.ID] = append(m.rejects[imp.ID], out.Rejects...)
	delete(m.chunks, chunkKey(imp.ID, n))
	return nil
}

func (m *memImports) FailImport(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	imp := m.imports[id]
	imp.Status, imp.FinishedAt = crm.ImportFailed, at
	m.imports[id] = imp
	return nil
}

func (m *memImports) ListImportRows(_ context.Context, id string, _ crm.Page) ([]crm.ImportRowResult, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rejects[id], "", nil
}

// tasks is a queue the test drains by hand.
type tasks struct{ queued []crm.ImportTask }

func (q *tasks) Enqueue(_ context.Context, t crm.ImportTask) error {
	q.queued = append(q.queued, t)
	return nil
}

func newImports(w *world, store *memImports, q *tasks) *crm.Imports {
	return &crm.Imports{Store: store, Customers: w.customers, Queue: q, Now: w.clock.Now, NewID: w.ids.New,
		Decode: func(raw []byte) (in crm.CustomerInput, err error) {
			if err := json.Unmarshal(raw, &in); err != nil {
				return in, crm.Invalid{{Field: "body", Code: "type", Message: "not an object"}}.Err()
			}
			return in, nil
		}, ChunkRows: 4, Concurrency: 8}
}

func row(n int, body string) crm.ImportRow { return crm.ImportRow{N: n, Raw: []byte(body)} }

func runAll(tb testing.TB, imp *crm.Imports, q *tasks) {
	tb.Helper()
	for i := 0; i < len(q.queued); i++ {
		if err := imp.Process(ctx, q.queued[i]); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestImportsLaterDuplicateLoses(t *testing.T) {
	// Concurrency would let either row win; the file's order must, every time.
	for attempt := range 20 {
		w := newWorld(t)
		store, q := newMemImports(), &tasks{}
		imp := newImports(w, store, q)
		rows := []crm.ImportRow{
			row(1, `{"name":"Other","email":"o@example.com"}`),
			row(2, `{"name":"First","phone":"`+phoneA+`"}`),
			row(3, `{"name":"Second","phone":"`+phoneAE164+`"}`),
			row(4, `{"name":"Third","email":"O@Example.com","phone":"`+phoneB+`"}`),
			row(5, `{"name":"Fourth","phone":"`+phoneB+`"}`), // second chunk: duplicates nothing created
		}
		started, err := imp.Start(ctx, admin, rows)
		if err != nil {
			t.Fatal(err)
		}
		runAll(t, imp, q)
		got, _ := store.GetImport(ctx, started.ID)
		if got.Status != crm.ImportDone || got.Created != 3 || got.Rejected != 2 || got.Processed != 5 {
			t.Fatalf("attempt %d: %+v", attempt, got)
		}
		rejects, _, _ := store.ListImportRows(ctx, started.ID, crm.Page{})
		dups := map[int]string{}
		for _, r := range rejects {
			dups[r.Row] = r.DuplicateOf
		}
		if dups[3] != crm.ImportCustomerID(started.ID, 2) || dups[4] != crm.ImportCustomerID(started.ID, 1) {
			t.Fatalf("attempt %d: rejects %+v", attempt, rejects)
		}
	}
}

func TestImportsRerunConverges(t *testing.T) {
	w := newWorld(t)
	store, q := newMemImports(), &tasks{}
	imp := newImports(w, store, q)
	rows := []crm.ImportRow{row(1, `{"name":"A","phone":"`+phoneA+`"}`), row(2, `{"name":"B","phone":"`+phoneB+`"}`), row(3, `{"name":""}`)}
	started, err := imp.Start(ctx, admin, rows)
	if err != nil {
		t.Fatal(err)
	}
	first := q.queued[0]
	// The first run stores the customers but dies before recording the
	// chunk: run the rows by hand, then the task as redelivered.
	for _, r := range rows[:2] {
		in, _ := imp.Decode(r.Raw)
		if _, err := w.customers.Import(ctx, admin, crm.ImportCustomerID(started.ID, r.N), in); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := imp.Process(ctx, first); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := store.GetImport(ctx, started.ID)
	if got.Created != 2 || got.Rejected != 1 || got.Processed != 3 || got.Status != crm.ImportDone {
		t.Fatalf("import %+v", got)
	}
	list, _, err := w.customers.List(ctx, admin, crm.CustomerFilter{}, crm.Page{Limit: 50})
	if err != nil || len(list) != 2 {
		t.Fatalf("%d customers, err %v", len(list), err)
	}
}

func TestImportsStart(t *testing.T) {
	w := newWorld(t)
	store, q := newMemImports(), &tasks{}
	imp := newImports(w, store, q)
	t.Run("ErrNotAdmin", func(t *testing.T) {
		if _, err := imp.Start(ctx, agent, []crm.ImportRow{row(1, `{}`)}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("ErrNoRows", func(t *testing.T) {
		if _, err := imp.Start(ctx, admin, nil); crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("Chunked", func(t *testing.T) {
		var rows []crm.ImportRow
		for n := 1; n <= 9; n++ {
			rows = append(rows, row(n, `{}`))
		}
		got, err := imp.Start(ctx, admin, rows)
		if err != nil || got.Chunks != 3 || got.Rows != 9 || got.Status != crm.ImportQueued {
			t.Fatalf("import %+v, err %v", got, err)
		}
	})
}

func TestImportCustomerID(t *testing.T) {
	a, b := crm.ImportCustomerID("imp_1", 1), crm.ImportCustomerID("imp_1", 2)
	if a != crm.ImportCustomerID("imp_1", 1) || a == b || a == crm.ImportCustomerID("imp_2", 1) || len(a) != 22 || a[:2] != "c_" {
		t.Fatalf("ids %q %q", a, b)
	}
}
