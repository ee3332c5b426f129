package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

type importStatus struct {
	ID                                 string
	Status                             string
	Rows, Processed, Created, Rejected int
	StartedAt, FinishedAt              *time.Time
}

type rejectedRow struct {
	Row         int
	DuplicateOf string
	Errors      []struct{ Field, Code, Message string }
}

func postFile(e *testenv.Env, token, contentType, body string) testenv.Response {
	e.TB.Helper()
	return e.Do(testenv.Request{Method: "POST", Path: "/imports", Token: token, Body: body, Header: map[string]string{"Content-Type": contentType}})
}

// awaitImport polls the import until it is done or failed.
func awaitImport(e *testenv.Env, token, id string) importStatus {
	e.TB.Helper()
	return awaitImportFor(e, token, id, 2*time.Minute)
}

func awaitImportFor(e *testenv.Env, token, id string, wait time.Duration) importStatus {
	e.TB.Helper()
	deadline := time.Now().Add(wait)
	for {
		var st importStatus
		r := get(e, token, "/imports/"+id)
		if r.Status != http.StatusOK {
			e.TB.Fatalf("get import: %d %s", r.Status, r.Body)
		}
		r.JSON(e.TB, &st)
		if st.Status == crm.ImportDone || st.Status == crm.ImportFailed {
			return st
		}
		if time.Now().After(deadline) {
			e.TB.Fatalf("import still %s: %+v", st.Status, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rejectedRows(e *testenv.Env, token, id, query string) ([]rejectedRow, string) {
	e.TB.Helper()
	r := get(e, token, "/imports/"+id+"/rows"+query)
	if r.Status != http.StatusOK {
		e.TB.Fatalf("rows: %d %s", r.Status, r.Body)
	}
	var page struct {
		Items      []rejectedRow
		NextCursor string
	}
	r.JSON(e.TB, &page)
	return page.Items, page.NextCursor
}

// importItems counts the import's stored items by sort-key prefix.
func importItems(e *testenv.Env, id, prefix string) int {
	e.TB.Helper()
	out, err := e.DB.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String(e.Config.Table),
		KeyConditionExpression:    aws.String("PK = :pk AND begins_with(SK, :sk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "IMPORT#" + id}, ":sk": &types.AttributeValueMemberS{Value: prefix}}})
	if err != nil {
		e.TB.Fatal(err)
	}
	return len(out.Items)
}

func TestBackgroundImport(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	existing := mustCreate(e, admin, map[string]any{"name": "Existing", "email": "taken@example.com", "ownerId": "alice"})
	csv := "\ufeff姓名;手机;邮箱;公司;地址;城市;国家;负责人\n" +
		"李伟;13800138000;Li.Wei@Example.com;\"Acme; Ltd\";建国路88号;上海;CN;alice\n" + // created
		"无联系;;;;;;;alice\n" + // no contact
		"\n;;;;;;;\n" + // blank lines are skipped
		"李伟二;+86 138 0013 8000;;;;;;alice\n" + // duplicates row 1's phone
		"王芳;;taken@example.com;;;;;bob\n" + // duplicates a stored customer
		"张三;13900139000;;;;;;alice;extra\n" + // more cells than columns
		"赵六;13700137000;zl@example.com;;;;;bob\n" // created
	r := postFile(e, admin, "text/csv", csv)
	if r.Status != http.StatusAccepted {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var acc importStatus
	r.JSON(t, &acc)
	if acc.Status != "queued" || acc.Rows != 6 || r.Header.Get("Location") != "/imports/"+acc.ID {
		t.Fatalf("accepted %+v, Location %q", acc, r.Header.Get("Location"))
	}
	st := awaitImport(e, admin, acc.ID)
	if st.Status != "done" || st.Processed != 6 || st.Created != 2 || st.Rejected != 4 || st.StartedAt == nil || st.FinishedAt == nil {
		rows, _ := rejectedRows(e, admin, acc.ID, "")
		t.Fatalf("finished %+v, rejected %+v", st, rows)
	}
	rows, next := rejectedRows(e, admin, acc.ID, "?status=rejected")
	want := map[int]string{2: "required", 3: "duplicate", 4: "duplicate", 5: "too_many_columns"}
	if len(rows) != len(want) || next != "" {
		t.Fatalf("rejected rows %+v", rows)
	}
	first := crm.ImportCustomerID(acc.ID, 1)
	for _, row := range rows {
		codes := ""
		for _, fe := range row.Errors {
			codes += fe.Code + " "
			if strings.Contains(fe.Message, "138") || strings.Contains(fe.Message, "taken") {
				t.Errorf("row %d: error message repeats a value", row.Row)
			}
		}
		if !strings.Contains(codes, want[row.Row]) {
			t.Errorf("row %d: codes %q, want %q", row.Row, codes, want[row.Row])
		}
	}
	if rows[1].DuplicateOf != first || rows[2].DuplicateOf != existing {
		t.Errorf("duplicates of %q and %q, want %q and %q", rows[1].DuplicateOf, rows[2].DuplicateOf, first, existing)
	}
	t.Run("CreatedAsPOSTCustomers", func(t *testing.T) {
		c := get(e, admin, "/customers/"+first).Map(t)
		if c["phone"] != "+8613800138000" || c["email"] != "li.wei@example.com" || c["company"] != "Acme; Ltd" || c["ownerId"] != "alice" ||
			c["address"].(map[string]any)["city"] != "上海" {
			t.Fatalf("customer %v", c)
		}
		var audit struct {
			Items []struct{ Actor, Action string }
		}
		get(e, admin, "/audit?entityId="+first).JSON(t, &audit)
		if len(audit.Items) != 1 || audit.Items[0].Actor != "root" || audit.Items[0].Action != "customer.create" {
			t.Fatalf("audit %+v", audit.Items)
		}
	})
	t.Run("RawRowsPurged", func(t *testing.T) {
		if n := importItems(e, acc.ID, "CHUNK#"); n != 0 {
			t.Fatalf("%d chunks left", n)
		}
	})
	t.Run("Paging", func(t *testing.T) {
		page1, cursor := rejectedRows(e, admin, acc.ID, "?limit=3")
		page2, end := rejectedRows(e, admin, acc.ID, "?limit=3&cursor="+cursor)
		if len(page1) != 3 || len(page2) != 1 || end != "" || page1[0].Row != 2 || page2[0].Row != 5 {
			t.Fatalf("pages %+v %+v", page1, page2)
		}
	})
	t.Run("ErrStatusCreated", func(t *testing.T) {
		if r := get(e, admin, "/imports/"+acc.ID+"/rows?status=created"); r.Status != http.StatusBadRequest {
			t.Fatalf("status %d", r.Status)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		r := postFile(e, admin, "application/json", `[{"name":"Json One","phone":"13600136000"},{"name":"Json Two","colour":"red"}]`)
		if r.Status != http.StatusAccepted {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		id := r.Map(t)["id"].(string)
		if st := awaitImport(e, admin, id); st.Created != 1 || st.Rejected != 1 {
			t.Fatalf("finished %+v", st)
		}
		rows, _ := rejectedRows(e, admin, id, "")
		if len(rows) != 1 || rows[0].Row != 2 || len(rows[0].Errors) != 3 || rows[0].Errors[0].Field != "colour" {
			t.Fatalf("rows %+v", rows)
		}
	})
}

func TestBackgroundImportRefused(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"ErrUnbalancedQuotes", "text/csv", "name,phone\n\"Li,138\nWang,139\n", 400, "malformed_csv"},
		{"ErrNotUTF8", "text/csv", "name,phone\n\xc0\xc1,138\n", 400, "encoding"},
		{"ErrUnknownColumn", "text/csv", "name,shoe size\nLi,42\n", 400, "unknown_field"},
		{"ErrOnlyEmptyLines", "text/csv", "name,phone\n" + strings.Repeat("\n", 200000), 400, "required"},
		{"ErrNotAnArray", "application/json", `{"name":"Li"}`, 400, "type"},
		{"ErrTooLarge", "text/csv", "name\n" + strings.Repeat("x", 5<<20), 413, ""},
		{"ErrMediaType", "text/plain", "name\nLi\n", 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postFile(e, admin, tt.contentType, tt.body)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %.300s", r.Status, tt.status, r.Body)
			}
			if tt.code != "" && !strings.Contains(string(r.Body), `"code":"`+tt.code+`"`) {
				t.Fatalf("no %s in %s", tt.code, r.Body)
			}
		})
	}
	t.Run("HugeCellIsOneRejectedRow", func(t *testing.T) {
		body := "name,phone\n" + "Li,13800138000\n" + strings.Repeat("y", 5<<20-100) + ",13900139000\n"
		r := postFile(e, admin, "text/csv", body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("status %d %.300s", r.Status, r.Body)
		}
		id := r.Map(t)["id"].(string)
		if st := awaitImport(e, admin, id); st.Created != 1 || st.Rejected != 1 {
			t.Fatalf("finished %+v", st)
		}
		rows, _ := rejectedRows(e, admin, id, "")
		if len(rows) != 1 || rows[0].Row != 2 || rows[0].Errors[0].Code != "too_large" {
			t.Fatalf("rows %+v", rows)
		}
	})
}

// failingStore fails every customer write after the first after writes,
// as a crash part-way through a chunk would leave it.
type failingStore struct {
	crm.CustomerStore
	after  int64
	writes atomic.Int64
}

func (s *failingStore) CreateCustomer(ctx context.Context, c crm.Customer, allowDuplicate bool, a crm.Audit) error {
	if s.writes.Add(1) > s.after {
		return errors.New("injected crash")
	}
	return s.CustomerStore.CreateCustomer(ctx, c, allowDuplicate, a)
}

// queueRecorder keeps the tasks queued instead of running them.
type queueRecorder struct{ tasks []crm.ImportTask }

func (q *queueRecorder) Enqueue(_ context.Context, t crm.ImportTask) error {
	q.tasks = append(q.tasks, t)
	return nil
}

// TestBackgroundImportResumes stops the processor part-way through a chunk
// and runs the chunk again, and again after it was recorded: the import
// converges on one customer and one audit entry per valid row.
func TestBackgroundImportResumes(t *testing.T) {
	e := testenv.New(t)
	admin := e.Token("root", "admin")
	ctx := context.Background()
	real := e.Services.API.Customers
	q := &queueRecorder{}
	newImports := func(c *crm.Customers) *crm.Imports {
		return &crm.Imports{Store: e.Services.Table.Imports(), Customers: c, Queue: q, Decode: api.DecodeImportRow(real.Policy),
			Now: time.Now, NewID: func(string) string { return "imp_resume" }, ChunkRows: 10, Concurrency: 4}
	}
	var rows []crm.ImportRow
	for n := 1; n <= 25; n++ {
		raw := fmt.Sprintf(`{"name":"Row %d","phone":"1380013%04d","ownerId":"alice"}`, n, n)
		if n%5 == 0 {
			raw = fmt.Sprintf(`{"name":"Row %d","phone":"1380013%04d","ownerId":"alice"}`, n, n-1) // duplicates the row before
		}
		rows = append(rows, crm.ImportRow{N: n, Raw: []byte(raw)})
	}
	imp, err := newImports(real).Start(ctx, crm.Actor{ID: "root", Roles: []crm.Role{crm.RoleAdmin}}, rows)
	if err != nil {
		t.Fatal(err)
	}
	if imp.Chunks != 3 || len(q.tasks) != 1 {
		t.Fatalf("import %+v, tasks %v", imp, q.tasks)
	}
	crashing := *real
	crashing.Store = &failingStore{CustomerStore: real.Store, after: 4}
	if err := newImports(&crashing).Process(ctx, q.tasks[0]); err == nil {
		t.Fatal("the crashed chunk reported success")
	}
	if st := awaitImportNow(t, e, admin, imp.ID); st.Status != "running" || st.Processed != 0 {
		t.Fatalf("after the crash %+v", st)
	}
	resumed := newImports(real)
	for i := 0; i < len(q.tasks); i++ {
		if err := resumed.Process(ctx, q.tasks[i]); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			// A redelivery of a chunk already recorded changes nothing.
			if err := resumed.Process(ctx, q.tasks[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := awaitImportNow(t, e, admin, imp.ID)
	if st.Status != "done" || st.Processed != 25 || st.Created != 20 || st.Rejected != 5 {
		t.Fatalf("after resuming %+v", st)
	}
	var list struct{ Items []struct{ ID string } }
	get(e, admin, "/customers?owner=alice&limit=200").JSON(t, &list)
	if len(list.Items) != 20 {
		t.Fatalf("%d customers, want 20", len(list.Items))
	}
	for n := 1; n <= 4; n++ {
		var audit struct{ Items []struct{ Action string } }
		get(e, admin, "/audit?entityId="+crm.ImportCustomerID(imp.ID, n)).JSON(t, &audit)
		if len(audit.Items) != 1 {
			t.Fatalf("row %d: %d audit entries, want 1", n, len(audit.Items))
		}
	}
}

func awaitImportNow(t *testing.T, e *testenv.Env, token, id string) importStatus {
	t.Helper()
	var st importStatus
	get(e, token, "/imports/"+id).JSON(t, &st)
	return st
}
