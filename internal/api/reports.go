package api

import (
	"context"
	"net/http"
	"time"
)

func handleReportDataQuality(svc dataQualityReporter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		rep, err := svc.DataQuality(r.Context(), actor(r.Context()))
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}

func handleReportComplaints(svc complaintReporter) http.Handler { return handleRange(svc.Complaints) }

// handleRange answers a report over ?from=&to=, instants or dates.
func handleRange[T any](report func(ctx context.Context, from, to time.Time) (T, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r.URL.Query(), "from", "to")
		from, ferr := q.instant("from")
		to, terr := q.instant("to")
		if err := joinInvalid(err, ferr, terr); err != nil {
			writeError(w, r, err)
			return
		}
		rep, err := report(r.Context(), from, to)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}

func handleReportCustomers(svc customerReporter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := query(r.URL.Query()); err != nil {
			writeError(w, r, err)
			return
		}
		rep, err := svc.Customers(r.Context())
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}

func handleReportAccess(svc accessReporter) http.Handler { return handleRange(svc.Access) }
