package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/clientele-crm/clientele/internal/crm"
)

// customerReadOnly names the fields a client sees but may not write.
var customerReadOnly = []string{"id", "version", "createdAt", "updatedAt", "verifiedAt", "reviewDueAt", "completeness", "missingFields", "lost", "suspect"}

// customerView is a customer as the API returns it.
type customerView struct {
	crm.Customer
	Completeness  float64  `json:"completeness"`
	MissingFields []string `json:"missingFields"`
}

// viewCustomer shows c as redact leaves it. Completeness is measured over
// the fields roles may see, so it does not reveal whether a hidden one is
// present.
func viewCustomer(p crm.Policy, roles []crm.Role, c, redacted crm.Customer) customerView {
	v := customerView{Customer: redacted}
	v.Completeness, v.MissingFields = p.CompletenessFor(roles, c)
	return v
}

func writeCustomer(w http.ResponseWriter, r *http.Request, p crm.Policy, status int, c crm.Customer) {
	w.Header().Set("ETag", etag(c.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", "/customers/"+c.ID)
	}
	writeJSON(w, status, viewCustomer(p, actor(r.Context()).Roles, c, crm.Redact(actor(r.Context()).Roles, c)))
}

func handleCustomerCreate(svc customerCreator, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "allowDuplicate")
		if err != nil {
			writeError(w, r, err)
			return
		}
		allowDup, err := q.boolean("allowDuplicate")
		if err != nil {
			writeError(w, r, err)
			return
		}
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.CustomerInput
		if err := decodeStrict(body, &in, customerReadOnly...); err != nil {
			writeError(w, r, withRuleErrors(p, in, err))
			return
		}
		c, err := svc.Create(r.Context(), actor(r.Context()), in, allowDup)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCustomer(w, r, p, http.StatusCreated, c)
	})
}

func handleCustomerGet(svc customerReader, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := actor(r.Context())
		c, err := svc.Get(r.Context(), a, r.PathValue("id"))
		if err == nil {
			// On record before it is shown, or not shown at all.
			err = svc.SensitiveRead(r.Context(), a, c, "customer.read_sensitive")
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCustomer(w, r, p, http.StatusOK, c)
	})
}

func handleCustomerErase(svc customerEraser) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := svc.RequestErase(r.Context(), actor(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		if ap != nil {
			writePending(w, *ap)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleCustomerExport(svc customerExporter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x, err := svc.Export(r.Context(), actor(r.Context()), r.PathValue("id"), r.URL.Query().Get("cursor"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", `attachment; filename="customer-`+x.Customer.ID+`.json"`)
		writeJSON(w, http.StatusOK, x)
	})
}

func handleCustomerPatch(svc customerUpdater, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaMergePatch, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if body == nil {
			writeError(w, r, crm.Invalid{{Field: "body", Code: "required", Message: "a JSON merge patch object is required"}}.Err())
			return
		}
		edit := func(cur crm.CustomerInput) (crm.CustomerInput, error) {
			next, err := patchInput(cur, body, customerReadOnly...)
			if err != nil {
				return next, err
			}
			// Every field the patch names must be writable, changed or not.
			return next, crm.CheckWritable(actor(r.Context()), memberNames(body))
		}
		c, ap, err := svc.Change(r.Context(), actor(r.Context()), r.PathValue("id"), ifMatch(r), edit)
		if err == nil && ap != nil {
			writePending(w, *ap)
			return
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCustomer(w, r, p, http.StatusOK, c)
	})
}

func handleCustomerVerify(svc customerVerifier, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if body != nil {
			var none struct{}
			if err := decodeStrict(body, &none); err != nil {
				writeError(w, r, err)
				return
			}
		}
		c, err := svc.Verify(r.Context(), actor(r.Context()), r.PathValue("id"), ifMatch(r))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCustomer(w, r, p, http.StatusOK, c)
	})
}

func handleCustomerList(svc customerLister, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor", "owner", "segment", "tag", "phone", "email", "stale", "suspect", "q")
		if err != nil {
			writeError(w, r, err)
			return
		}
		page, perr := q.page()
		stale, serr := q.boolean("stale")
		suspect, xerr := q.boolean("suspect")
		if err := joinInvalid(perr, serr, xerr); err != nil {
			writeError(w, r, err)
			return
		}
		f := crm.CustomerFilter{
			OwnerID: q.Get("owner"), Segment: strings.ToLower(strings.TrimSpace(q.Get("segment"))),
			Tag: strings.ToLower(strings.TrimSpace(q.Get("tag"))), Phone: q.Get("phone"), Email: q.Get("email"), Stale: stale, Suspect: suspect, Query: q.Get("q"),
		}
		cs, next, err := svc.List(r.Context(), actor(r.Context()), f, page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		roles := actor(r.Context()).Roles
		items := make([]customerView, len(cs))
		for i, c := range cs {
			items[i] = viewCustomer(p, roles, c, crm.RedactForList(roles, c))
			if c.Unreadable {
				// Shown without its sealed fields; on record for the alarm
				// on integrity failures, by id only.
				logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "stored data failed its integrity check",
					slog.String("code", crm.EINTEGRITY), slog.String("customerId", c.ID))
			}
		}
		writeJSON(w, http.StatusOK, list[customerView]{Items: items, NextCursor: next})
	})
}

func handleInteractionCreate(svc interactionAdder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.InteractionInput
		if err := decodeStrict(body, &in, "id", "customerId", "actorId", "createdAt"); err != nil {
			writeError(w, r, err)
			return
		}
		it, err := svc.AddInteraction(r.Context(), actor(r.Context()), r.PathValue("id"), in)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/customers/"+it.CustomerID+"/interactions/"+it.ID)
		writeJSON(w, http.StatusCreated, it)
	})
}

// handleCustomerSubList answers one page of what a customer holds
// (interactions, consent records), as page lists them for the caller.
func handleCustomerSubList[T any](page func(ctx context.Context, a crm.Actor, id string, p crm.Page) ([]T, string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "limit", "cursor")
		if err != nil {
			writeError(w, r, err)
			return
		}
		p, err := q.page()
		if err != nil {
			writeError(w, r, err)
			return
		}
		items, next, err := page(r.Context(), actor(r.Context()), r.PathValue("id"), p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list[T]{Items: items, NextCursor: next})
	})
}

// importResult reports what became of one row of an import.
type importResult struct {
	Row         int              `json:"row"`
	ID          string           `json:"id,omitempty"`
	Errors      []crm.FieldError `json:"errors,omitempty"`
	DuplicateOf string           `json:"duplicateOf,omitempty"`
}

// maxImportRows bounds one synchronous import request; larger files go
// through the background import.
const maxImportRows = 100

func handleCustomerImport(svc customerCreator, p crm.Policy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON, "text/csv")
		if err != nil {
			writeError(w, r, err)
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		var rows []json.RawMessage
		if mt == "text/csv" {
			rows, err = csvRows(body)
		} else {
			rows, err = jsonRows(body)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		a := actor(r.Context())
		out := struct {
			Items    []importResult `json:"items"`
			Created  int            `json:"created"`
			Rejected int            `json:"rejected"`
		}{Items: make([]importResult, 0, len(rows))}
		for i, raw := range rows {
			res := importResult{Row: i + 1}
			var in crm.CustomerInput
			err := decodeStrict(raw, &in, customerReadOnly...)
			if err != nil {
				err = withRuleErrors(p, in, err)
			}
			var c crm.Customer
			if err == nil {
				c, err = svc.Create(crm.WithConsentSource(r.Context(), crm.ConsentByImport), a, in, false)
			}
			switch code := crm.ErrorCode(err); code {
			case "":
				res.ID = c.ID
				out.Created++
			case crm.EINVALID, crm.ECONFLICT, crm.EFORBIDDEN:
				var e *crm.Error
				errors.As(err, &e)
				res.Errors, res.DuplicateOf = e.Fields, e.DuplicateOf
				if len(res.Errors) == 0 {
					res.Errors = []crm.FieldError{{Field: "row", Code: code, Message: e.Message}}
				}
				out.Rejected++
			default:
				// A dependency failed: stop with its 503. The rows before
				// this one are stored; a retry reports them as duplicates of
				// themselves (duplicateOf) and creates nothing twice.
				writeError(w, r, fmt.Errorf("import row %d: %w", i+1, err))
				return
			}
			out.Items = append(out.Items, res)
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func jsonRows(body []byte) ([]json.RawMessage, error) {
	var rows []json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, crm.Invalid{{Field: "body", Code: "type", Message: "must be a JSON array of customer objects"}}.Err()
	}
	return rows, checkRowCount(len(rows))
}

func checkRowCount(n int) error {
	switch {
	case n == 0:
		return crm.Invalid{{Field: "body", Code: "required", Message: "at least one row is required"}}.Err()
	case n > maxImportRows:
		return crm.Invalid{{Field: "body", Code: "too_many", Message: fmt.Sprintf("at most %d rows per request", maxImportRows)}}.Err()
	}
	return nil
}

// csvColumns are the CSV header names an import accepts; dotted names fill
// nested objects and tags are separated by ';'.
var csvColumns = []string{"name", "phone", "email", "company", "segment", "tags", "nationalId", "ownerId",
	"address.line1", "address.line2", "address.city", "address.region", "address.postalCode", "address.country",
	"billing.bankAccount", "billing.taxId", "consent.reminders", "consent.marketing", "language"}

// csvRows turns a CSV document with a header row into JSON customer objects,
// so both formats go through the same strict decoding.
func csvRows(body []byte) ([]json.RawMessage, error) {
	rd := csv.NewReader(strings.NewReader(string(body)))
	rd.FieldsPerRecord = 0
	records, err := rd.ReadAll()
	if err != nil {
		return nil, crm.Invalid{{Field: "body", Code: "malformed_csv", Message: "is not valid CSV"}}.Err()
	}
	if len(records) == 0 {
		return nil, checkRowCount(0)
	}
	var v crm.Invalid
	header := records[0]
	for _, h := range header {
		if !slices.Contains(csvColumns, h) {
			v.Add("header."+h, "unknown_field", "is not an import column")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	rows := make([]json.RawMessage, 0, len(records)-1)
	for _, rec := range records[1:] {
		obj := map[string]any{}
		for i, h := range header {
			val := strings.TrimSpace(rec[i])
			if val == "" {
				continue
			}
			var x any = val
			switch h {
			case "tags":
				x = strings.Split(val, ";")
			case "consent.reminders", "consent.marketing":
				if b, err := strconv.ParseBool(val); err == nil {
					x = b
				}
			}
			parent, leaf, nested := strings.Cut(h, ".")
			if !nested {
				obj[h] = x
				continue
			}
			m, _ := obj[parent].(map[string]any)
			if m == nil {
				m = map[string]any{}
				obj[parent] = m
			}
			m[leaf] = x
		}
		raw, _ := json.Marshal(obj)
		rows = append(rows, raw)
	}
	return rows, checkRowCount(len(rows))
}

// withRuleErrors adds to a decoding error the standardization errors of
// what did decode, so that one answer names every bad field: a mistyped
// name and an invalid email are reported together.
func withRuleErrors(p crm.Policy, in crm.CustomerInput, decodeErr error) error {
	var e *crm.Error
	if !errors.As(decodeErr, &e) || e.Code != crm.EINVALID {
		return decodeErr
	}
	named := map[string]bool{}
	for _, f := range e.Fields {
		named[f.Field] = true
		parent, _, _ := strings.Cut(f.Field, ".")
		named[parent] = true
	}
	if named["body"] {
		return decodeErr
	}
	_, ruleErr := p.Standardize(in)
	var re *crm.Error
	if !errors.As(ruleErr, &re) {
		return decodeErr
	}
	out := *e
	out.Fields = slices.Clone(e.Fields)
	for _, f := range re.Fields {
		parent, _, _ := strings.Cut(f.Field, ".")
		if !named[f.Field] && !named[parent] {
			out.Fields = append(out.Fields, f)
		}
	}
	return &out
}

// list is one page of a collection.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// MarshalJSON writes an empty page's items as [], never null: the document
// promises an array, and a store that found nothing returns a nil slice.
func (l list[T]) MarshalJSON() ([]byte, error) {
	type page list[T]
	if l.Items == nil {
		l.Items = []T{}
	}
	return json.Marshal(page(l))
}

// params are a request's query parameters, checked against the names a route
// accepts so that a misspelt filter is an error, not a silent no-op.
type params struct{ url.Values }

func query(v url.Values, allowed ...string) (params, error) {
	var inv crm.Invalid
	for k := range v {
		if !slices.Contains(allowed, k) {
			inv.Add(k, "unknown_parameter", "is not a query parameter of this route")
		}
	}
	return params{v}, inv.Err()
}

func (q params) boolean(name string) (bool, error) {
	switch q.Get(name) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, crm.Invalid{{Field: name, Code: "type", Message: "must be true or false"}}.Err()
}

func (q params) page() (crm.Page, error) {
	p := crm.Page{Limit: 50, Cursor: q.Get("cursor")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, crm.Invalid{{Field: "limit", Code: "range", Message: "must be an integer from 1 to 200"}}.Err()
		}
		p.Limit = n
	}
	return p, nil
}

// joinInvalid merges EINVALID errors so one answer names every bad field.
func joinInvalid(errs ...error) error {
	var all crm.Invalid
	for _, err := range errs {
		if e, ok := err.(*crm.Error); ok {
			all = append(all, e.Fields...)
		}
	}
	return all.Err()
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch returns the version an If-Match header asks for, nil when there is
// none or it is "*". A value that is no version of ours can never match.
func ifMatch(r *http.Request) *int64 {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return nil
	}
	v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(h, "W/"), `"`), 10, 64)
	if err != nil {
		v = -1
	}
	return &v
}
