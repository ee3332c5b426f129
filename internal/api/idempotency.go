package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// idempotent makes a POST route honour Idempotency-Key: the first request
// with a key runs and its successful response is saved; a retry with the
// same key and payload gets that response back and runs nothing. Keys are
// scoped to the caller and the route, so one user's key never replays
// another's response.
func idempotent(store crm.IdempotencyStore, now func() time.Time, rt Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 255 || !printable(key) {
			writeError(w, r, crm.Invalid{{Field: "Idempotency-Key", Code: "invalid", Message: "must be 1 to 255 printable ASCII characters"}}.Err())
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil || len(body) > maxBody {
			// Too large or unreadable: the handler answers it, and there is
			// nothing to remember.
			r.Body = readCloser{bytes.NewReader(body)}
			next.ServeHTTP(w, r)
			return
		}
		r.Body = readCloser{bytes.NewReader(body)}

		ctx := r.Context()
		scoped := actor(ctx).ID + "\x00" + rt.Key() + "\x00" + key
		sum := sha256.New()
		for _, part := range []string{r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type")} {
			sum.Write([]byte(part))
			sum.Write([]byte{0})
		}
		sum.Write(body)
		hash := hex.EncodeToString(sum.Sum(nil))

		saved, err := store.BeginIdempotent(ctx, scoped, hash, now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if saved != nil {
			for k, v := range saved.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(saved.Status)
			_, _ = w.Write(saved.Body)
			return
		}

		rec := newRecorder()
		serve(next, rec, r)
		if rec.status < 300 {
			resp := crm.SavedResponse{Status: rec.status, Header: map[string]string{}, Body: rec.body.Bytes(), Subject: subjectOf(rec.body.Bytes())}
			for k := range rec.header {
				resp.Header[k] = rec.header.Get(k)
			}
			if err := store.CompleteIdempotent(ctx, scoped, resp, now()); err != nil {
				// The write happened; the client gets its answer. A retry
				// may run again once the in-progress record expires.
				logger(ctx).LogAttrs(ctx, slog.LevelWarn, "idempotency record not completed", slog.String("error", err.Error()))
			}
		} else if err := store.ReleaseIdempotent(ctx, scoped); err != nil {
			logger(ctx).LogAttrs(ctx, slog.LevelWarn, "idempotency record not released", slog.String("error", err.Error()))
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

// subjectOf names the customer a response is about: its customerId, or its
// own id when it is a customer.
func subjectOf(body []byte) string {
	var v struct {
		ID         string `json:"id"`
		CustomerID string `json:"customerId"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if v.CustomerID != "" {
		return v.CustomerID
	}
	if strings.HasPrefix(v.ID, "c_") {
		return v.ID
	}
	return ""
}
