package api

import (
	"context"
	"net/http"

	"github.com/clientele-crm/clientele/internal/crm"
)

// The survey routes answer the customer, who has no account: the signed,
// expiring token in the path is the credential, as for the portal, and any
// token that is not valid gets the portal's one 404.
type (
	surveyAnswerer interface {
		Answer(ctx context.Context, token, clientAddr string, in crm.SurveyAnswer) (crm.SurveyReceipt, error)
	}
)

var (
	_ surveyAnswerer = (*crm.Surveys)(nil)
)

func handleSurveyPost(svc surveyAnswerer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.SurveyAnswer
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		receipt, err := svc.Answer(r.Context(), r.PathValue("token"), r.RemoteAddr, in)
		if err != nil {
			writePortalError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, receipt)
	})
}
