package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/clientele-crm/clientele/internal/crm"
)

func handlePortalLinkCreate(svc portalLinker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err == nil && body != nil {
			var none struct{}
			err = decodeStrict(body, &none)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		l, err := svc.CreateLink(r.Context(), actor(r.Context()), r.PathValue("id"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, l)
	})
}

// handleTokenView answers GET on a signed link (a portal or a survey
// link): the token in the path is the credential, and every refusal is the
// same 404 (writePortalError).
func handleTokenView[V any](view func(ctx context.Context, token, clientAddr string) (V, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := view(r.Context(), r.PathValue("token"), r.RemoteAddr)
		if err != nil {
			writePortalError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, v)
	})
}

func handlePortalPut(svc portalUpdater) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, mediaJSON)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var in crm.PortalInput
		if err := decodeStrict(body, &in); err != nil {
			writeError(w, r, err)
			return
		}
		// Decoding leaves a null the same as an absent field; for the
		// customer, null means "remove it".
		var present map[string]json.RawMessage
		_ = json.Unmarshal(body, &present)
		none := ""
		if string(present["phone"]) == "null" {
			in.Phone = &none
		}
		if string(present["email"]) == "null" {
			in.Email = &none
		}
		in.RemoveAddress = string(present["address"]) == "null"
		v, err := svc.Update(r.Context(), r.PathValue("token"), r.RemoteAddr, in)
		if err != nil {
			writePortalError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, v)
	})
}

// writePortalError answers a portal request; a throttled one also says
// when to come back.
func writePortalError(w http.ResponseWriter, r *http.Request, err error) {
	if crm.ErrorCode(err) == crm.ETHROTTLED {
		w.Header().Set("Retry-After", strconv.Itoa(3600))
	}
	writeError(w, r, err)
}

func handlePortalLinksRevoke(svc portalRevoker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := svc.RevokeLinks(r.Context(), actor(r.Context()), r.PathValue("id")); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
