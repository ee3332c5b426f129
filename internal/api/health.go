package api

import (
	"context"
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPI)
	})
}

type healthReport struct {
	Status       string            `json:"status"`
	Dependencies map[string]string `json:"dependencies"`
}

func handleHealth(check func(ctx context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := healthReport{Status: "ok", Dependencies: map[string]string{"dynamodb": "ok"}}
		status := http.StatusOK
		if check != nil {
			if err := check(r.Context()); err != nil {
				rep.Status, rep.Dependencies["dynamodb"] = "degraded", "unavailable"
				status = http.StatusServiceUnavailable
			}
		}
		writeJSON(w, status, rep)
	})
}
