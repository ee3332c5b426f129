package api

import (
	"context"
	"mime"
	"net/http"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/importfile"
)

// maxImportBody bounds a background import's file.
const maxImportBody = 5 << 20

type (
	importStarter interface {
		Start(ctx context.Context, a crm.Actor, rows []crm.ImportRow) (crm.Import, error)
	}
	importReader interface {
		Get(ctx context.Context, id string) (crm.Import, error)
	}
	importRowLister interface {
		Rejected(ctx context.Context, id string, p crm.Page) ([]crm.ImportRowResult, string, error)
	}
)

var (
	_ importStarter   = (*crm.Imports)(nil)
	_ importReader    = (*crm.Imports)(nil)
	_ importRowLister = (*crm.Imports)(nil)
)

// importView is an import's progress as the API returns it.
type importView struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Rows       int        `json:"rows"`
	Processed  int        `json:"processed"`
	Created    int        `json:"created"`
	Rejected   int        `json:"rejected"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

func viewImport(imp crm.Import) importView {
	v := importView{ID: imp.ID, Status: imp.Status, Rows: imp.Rows, Processed: imp.Processed, Created: imp.Created, Rejected: imp.Rejected}
	if !imp.StartedAt.IsZero() {
		v.StartedAt = &imp.StartedAt
	}
	if !imp.FinishedAt.IsZero() {
		v.FinishedAt = &imp.FinishedAt
	}
	return v
}

func handleImportStart(svc importStarter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBodyUpTo(r, maxImportBody, mediaJSON, "text/csv")
		if err != nil {
			writeError(w, r, err)
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		parsed, err := importfile.Parse(body, mt == "text/csv")
		if err != nil {
			writeError(w, r, err)
			return
		}
		rows := make([]crm.ImportRow, len(parsed))
		for i, p := range parsed {
			rows[i] = crm.ImportRow{N: p.N, Raw: p.JSON, Errors: p.Errors}
		}
		imp, err := svc.Start(r.Context(), actor(r.Context()), rows)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/imports/"+imp.ID)
		writeJSON(w, http.StatusAccepted, struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Rows   int    `json:"rows"`
		}{imp.ID, imp.Status, imp.Rows})
	})
}

func handleImportGet(svc importReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imp, err := svc.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, viewImport(imp))
	})
}

// importRowView is a rejected row: its number and what was wrong with
// which field, never the values.
type importRowView struct {
	Row         int              `json:"row"`
	Errors      []crm.FieldError `json:"errors"`
	DuplicateOf string           `json:"duplicateOf,omitempty"`
}

func handleImportRows(svc importRowLister) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "status", "limit", "cursor")
		if err != nil {
			writeError(w, r, err)
			return
		}
		// Rejected rows are the ones kept: the created ones are customers.
		if s := q.Get("status"); s != "" && s != "rejected" {
			writeError(w, r, crm.Invalid{{Field: "status", Code: "enum", Message: "must be rejected"}}.Err())
			return
		}
		page, err := q.page()
		if err != nil {
			writeError(w, r, err)
			return
		}
		rows, next, err := svc.Rejected(r.Context(), r.PathValue("id"), page)
		if err != nil {
			writeError(w, r, err)
			return
		}
		items := make([]importRowView, len(rows))
		for i, row := range rows {
			items[i] = importRowView{Row: row.Row, Errors: row.Errors, DuplicateOf: row.DuplicateOf}
		}
		writeJSON(w, http.StatusOK, list[importRowView]{Items: items, NextCursor: next})
	})
}

// DecodeImportRow returns how the background import reads each row: as
// the body of POST /customers is read, so a row is refused for exactly
// what that request would be, every bad field named at once.
func DecodeImportRow(p crm.Policy) func(raw []byte) (crm.CustomerInput, error) {
	return func(raw []byte) (crm.CustomerInput, error) {
		var in crm.CustomerInput
		if err := decodeStrict(raw, &in, customerReadOnly...); err != nil {
			return in, withRuleErrors(p, in, err)
		}
		return in, nil
	}
}
