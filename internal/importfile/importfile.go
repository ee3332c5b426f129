// Package importfile reads the files of a customer import — CSV with a
// header row, or a JSON array — into one JSON customer object per row, so
// that every row, whatever its format, goes through the API's strict
// decoding and the crm rules like the body of POST /customers.
//
// A problem with the file as a whole (not UTF-8, unbalanced quotes, an
// unknown column) is an EINVALID error; a problem with one row (too many
// cells, too large) is that row's errors, and the other rows go on. Errors
// name columns, rows and codes, never a cell's value.
package importfile

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/clientele-crm/clientele/internal/crm"
)

// MaxRowBytes bounds one row's JSON object. A larger row is rejected on
// its own: rows are stored in chunks of bounded size until processed, and
// no customer field is anywhere near this long.
const MaxRowBytes = 16 << 10

// Row is one data row of an import file.
type Row struct {
	// N is the row's number, 1 for the first data row.
	N int `json:"n"`
	// JSON is the row as a customer object; nil when Errors says why the
	// row could not be read.
	JSON json.RawMessage `json:"j,omitempty"`
	// Errors are the row's problems found while reading the file.
	Errors []crm.FieldError `json:"e,omitempty"`
}

// Parse reads body as CSV when csvFormat is set, else as a JSON array.
func Parse(body []byte, csvFormat bool) ([]Row, error) {
	if csvFormat {
		return ParseCSV(body)
	}
	return ParseJSON(body)
}

// ParseJSON reads a JSON array of customer objects.
func ParseJSON(body []byte) ([]Row, error) {
	body = bytes.TrimPrefix(body, bom)
	if !utf8.Valid(body) {
		return nil, invalid("encoding", "must be UTF-8")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, invalid("type", "must be a JSON array of customer objects")
	}
	rows := make([]Row, 0, len(raws))
	for i, raw := range raws {
		rows = append(rows, sized(Row{N: i + 1, JSON: raw}))
	}
	if len(rows) == 0 {
		return nil, invalid("required", "at least one row is required")
	}
	return rows, nil
}

var bom = []byte("\ufeff")

// ParseCSV reads CSV with a header row naming the columns, in English or
// Chinese (see Column). The delimiter, comma or semicolon, is the one the
// header row uses. Lines with no content are skipped.
func ParseCSV(body []byte) ([]Row, error) {
	body = bytes.TrimPrefix(body, bom)
	if !utf8.Valid(body) {
		return nil, invalid("encoding", "must be UTF-8")
	}
	rd := csv.NewReader(bytes.NewReader(body))
	rd.Comma = Delimiter(body)
	rd.FieldsPerRecord = -1
	rd.ReuseRecord = true
	header, err := rd.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("required", "at least one row is required")
	}
	if err != nil {
		return nil, malformed(err)
	}
	columns, err := mapHeader(header)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for n := 1; ; {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed(err)
		}
		if blank(rec) {
			continue
		}
		rows = append(rows, sized(csvRow(n, columns, rec)))
		n++
	}
	if len(rows) == 0 {
		return nil, invalid("required", "at least one row is required")
	}
	return rows, nil
}

// Delimiter returns the CSV delimiter the first line uses: a semicolon
// when it has more semicolons than commas outside quotes, else a comma.
func Delimiter(body []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, b := range body {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '\n':
			return pick(commas, semis)
		case b == ',':
			commas++
		case b == ';':
			semis++
		}
	}
	return pick(commas, semis)
}

func pick(commas, semis int) rune {
	if semis > commas {
		return ';'
	}
	return ','
}

// malformed reports a CSV syntax error by line and column: the message of
// encoding/csv's ParseError names positions, never content.
func malformed(err error) error {
	msg := "is not valid CSV"
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("is not valid CSV: line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return crm.Invalid{{Field: "body", Code: "malformed_csv", Message: msg}}.Err()
}

func invalid(code, msg string) error {
	return crm.Invalid{{Field: "body", Code: code, Message: msg}}.Err()
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// sized rejects a row too large to store.
func sized(r Row) Row {
	if len(r.JSON) > MaxRowBytes {
		return Row{N: r.N, Errors: []crm.FieldError{{Field: "row", Code: "too_large", Message: fmt.Sprintf("is over %d KiB", MaxRowBytes>>10)}}}
	}
	return r
}

func mapHeader(header []string) ([]string, error) {
	var v crm.Invalid
	columns := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.TrimSpace(h)
		col, ok := Column(name)
		switch {
		case name == "":
			v.Add(fmt.Sprintf("header.%d", i+1), "required", "names no column")
		case !ok:
			v.Add("header."+name, "unknown_field", "is not an import column")
		case seen[col]:
			v.Add("header."+name, "duplicate", "names a column already given")
		}
		seen[col] = true
		columns[i] = col
	}
	return columns, v.Err()
}

// csvRow turns one record into a customer object: dotted columns fill
// nested objects, tags are separated by ';', '|' or '、', and consent
// columns take true/false, yes/no, 1/0 or 是/否.
func csvRow(n int, columns []string, rec []string) Row {
	if len(rec) > len(columns) && !blank(rec[len(columns):]) {
		return Row{N: n, Errors: []crm.FieldError{{Field: "row", Code: "too_many_columns", Message: fmt.Sprintf("has more cells than the header's %d columns", len(columns))}}}
	}
	obj := map[string]any{}
	for i, col := range columns {
		if i >= len(rec) {
			break
		}
		val := strings.TrimSpace(rec[i])
		if val == "" {
			continue
		}
		var x any = val
		switch col {
		case "tags":
			x = splitTags(val)
		case "consent.reminders", "consent.marketing":
			if b, ok := parseBool(val); ok {
				x = b
			}
		}
		parent, leaf, nested := strings.Cut(col, ".")
		if !nested {
			obj[col] = x
			continue
		}
		m, _ := obj[parent].(map[string]any)
		if m == nil {
			m = map[string]any{}
			obj[parent] = m
		}
		m[leaf] = x
	}
	raw, _ := json.Marshal(obj) // strings, bools and string slices always encode
	return Row{N: n, JSON: raw}
}

func splitTags(s string) []string {
	var tags []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '|' || r == '、' }) {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "y", "是", "同意":
		return true, true
	case "no", "n", "否", "不同意":
		return false, true
	}
	b, err := strconv.ParseBool(s)
	return b, err == nil
}

// columns maps each accepted header, folded by fold, to its column.
var columns = func() map[string]string {
	m := map[string]string{}
	for col, names := range map[string][]string{
		"name":                {"姓名", "名字", "客户名称", "客户姓名", "联系人", "full name", "customer name"},
		"phone":               {"电话", "手机", "手机号", "手机号码", "电话号码", "联系电话", "mobile", "tel", "telephone", "phone number"},
		"email":               {"邮箱", "电子邮箱", "电子邮件", "邮件", "e-mail", "mail", "email address"},
		"company":             {"公司", "公司名称", "单位", "企业", "organization", "organisation"},
		"segment":             {"客户分类", "分类", "客户类型", "细分"},
		"tags":                {"标签", "tag"},
		"nationalId":          {"身份证", "身份证号", "身份证号码", "证件号码", "national id", "id number"},
		"ownerId":             {"负责人", "所有者", "owner"},
		"address.line1":       {"地址", "详细地址", "address", "address1", "address line 1", "line1"},
		"address.line2":       {"地址2", "address2", "address line 2", "line2"},
		"address.city":        {"城市", "市", "city"},
		"address.region":      {"省", "省份", "地区", "region", "province", "state"},
		"address.postalCode":  {"邮编", "邮政编码", "postal code", "postcode", "zip"},
		"address.country":     {"国家", "country"},
		"billing.bankAccount": {"银行账号", "银行账户", "bank account"},
		"billing.taxId":       {"税号", "纳税人识别号", "tax id"},
		"consent.reminders":   {"同意提醒", "reminders"},
		"consent.marketing":   {"同意营销", "marketing"},
	} {
		m[fold(col)] = col
		for _, n := range names {
			m[fold(n)] = col
		}
	}
	return m
}()

// fold makes header matching forgiving of case, spaces, '_' and '-'.
func fold(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\u3000':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// Column returns the column a header names, and whether it names one.
func Column(header string) (string, bool) {
	col, ok := columns[fold(header)]
	return col, ok
}
