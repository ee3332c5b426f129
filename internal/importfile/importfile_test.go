package importfile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func objects(t *testing.T, rows []Row) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range rows {
		var m map[string]any
		if r.JSON != nil {
			if err := json.Unmarshal(r.JSON, &m); err != nil {
				t.Fatalf("row %d: %v", r.N, err)
			}
		}
		out = append(out, m)
	}
	return out
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []map[string]any
	}{
		{"English comma", "name,phone,email\nLi Wei,13800138000,li@example.com\n",
			[]map[string]any{{"name": "Li Wei", "phone": "13800138000", "email": "li@example.com"}}},
		{"Chinese semicolon with BOM", "\ufeff姓名;手机;邮箱;城市\n王芳;13900139000;wf@example.com;上海\n",
			[]map[string]any{{"name": "王芳", "phone": "13900139000", "email": "wf@example.com", "address": map[string]any{"city": "上海"}}}},
		{"quoted delimiter and newline", "name,company,address\n\"Zhang, San\",\"A;B\",\"line\nbreak\"\n",
			[]map[string]any{{"name": "Zhang, San", "company": "A;B", "address": map[string]any{"line1": "line\nbreak"}}}},
		{"CRLF, blank lines, tags, consent", "Name,E-Mail,标签,同意营销\r\n\r\n,,,\r\nA,a@example.com,vip|新客户,是\r\n",
			[]map[string]any{{"name": "A", "email": "a@example.com", "tags": []any{"vip", "新客户"}, "consent": map[string]any{"marketing": true}}}},
		{"fewer cells than columns", "name,phone,email\nB,138\n",
			[]map[string]any{{"name": "B", "phone": "138"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ParseCSV([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(objects(t, rows))
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Fatalf("got %s\nwant %s", got, want)
			}
			for i, r := range rows {
				if r.N != i+1 {
					t.Fatalf("row %d numbered %d", i+1, r.N)
				}
			}
		})
	}
}

func TestParseCSVRowErrors(t *testing.T) {
	big := strings.Repeat("x", MaxRowBytes+1)
	rows, err := ParseCSV([]byte("name,phone\nA,1,extra\nB,2,,\n" + big + ",3\nC,4\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"too_many_columns", "", "too_large", ""}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		code := ""
		if len(r.Errors) > 0 {
			code = r.Errors[0].Code
			if r.JSON != nil {
				t.Errorf("row %d has errors and an object", r.N)
			}
		}
		if code != want[i] {
			t.Errorf("row %d: code %q, want %q", r.N, code, want[i])
		}
		for _, e := range r.Errors {
			if strings.Contains(e.Message, "xxx") {
				t.Errorf("row %d: error repeats the cell", r.N)
			}
		}
	}
}

func TestParseCSVRefused(t *testing.T) {
	tests := map[string]struct{ body, code string }{
		"ErrUnbalancedQuote": {"name,phone\n\"A,1\n", "malformed_csv"},
		"ErrNotUTF8":         {"name,phone\n\xff\xfe,1\n", "encoding"},
		"ErrUnknownColumn":   {"name,shoe size\nA,42\n", "unknown_field"},
		"ErrDuplicateColumn": {"name,姓名\nA,B\n", "duplicate"},
		"ErrHeaderOnly":      {"name,phone\n" + strings.Repeat("\n", 200000), "required"},
		"ErrEmpty":           {"", "required"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCSV([]byte(tt.body))
			var e *crm.Error
			if !asError(err, &e) || e.Code != crm.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
			if e.Fields[0].Code != tt.code {
				t.Fatalf("code %q, want %q", e.Fields[0].Code, tt.code)
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	rows, err := ParseJSON([]byte(`[{"name":"A","phone":"1"}, 42]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || string(rows[1].JSON) != "42" || rows[1].N != 2 {
		t.Fatalf("rows %+v", rows)
	}
	for _, bad := range []string{`{}`, `[]`, `[1,`, "\xff"} {
		if _, err := ParseJSON([]byte(bad)); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%q: err %v, want EINVALID", bad, err)
		}
	}
}

func TestColumn(t *testing.T) {
	for header, want := range map[string]string{"姓名": "name", "手机": "phone", "电话": "phone", "Phone": "phone",
		"E_mail": "email", "公司": "company", "城市": "address.city", "postal code": "address.postalCode", "nationalId": "nationalId"} {
		if got, ok := Column(header); !ok || got != want {
			t.Errorf("Column(%q) = %q, %v; want %q", header, got, ok, want)
		}
	}
	if _, ok := Column("shoe size"); ok {
		t.Error("an unknown header maps to a column")
	}
}

func TestDelimiter(t *testing.T) {
	for body, want := range map[string]rune{"a,b;c,d\n": ',', "a;b;c\nx,y,z,w": ';', "\"a;b;c\",d\n": ',', "a": ','} {
		if got := Delimiter([]byte(body)); got != want {
			t.Errorf("Delimiter(%q) = %q, want %q", body, got, want)
		}
	}
}
