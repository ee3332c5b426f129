package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/clientele-crm/clientele/internal/crm"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	loggerKey
)

// ActorFromClaims builds the caller from JWT claims as API Gateway's JWT
// authorizer hands them to the function: every claim a string. Returns false
// when the token names no user.
func ActorFromClaims(claims map[string]string) (crm.Actor, bool) {
	sub := claims["sub"]
	if sub == "" {
		return crm.Actor{}, false
	}
	a := crm.Actor{ID: sub}
	for _, g := range ParseGroups(claims["cognito:groups"]) {
		if r := crm.Role(g); slices.Contains(crm.Roles, r) {
			a.Roles = append(a.Roles, r)
		}
	}
	return a, true
}

// ParseGroups reads the cognito:groups claim in every form it arrives in:
// API Gateway HTTP APIs stringify array claims as "[a b]", other paths give a
// JSON array `["a","b"]`, a comma-separated list, or a single group.
func ParseGroups(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var arr []string
		if json.Unmarshal([]byte(s), &arr) == nil {
			return clean(arr)
		}
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	return clean(strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }))
}

func clean(groups []string) []string {
	out := groups[:0]
	for _, g := range groups {
		if g = strings.Trim(strings.TrimSpace(g), `"`); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func withActor(ctx context.Context, a crm.Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// actor returns the authenticated caller; routes that need one are only
// reached with it set.
func actor(ctx context.Context) crm.Actor {
	a, _ := ctx.Value(actorKey).(crm.Actor)
	return a
}

func requestID(ctx context.Context) string { return crm.RequestID(ctx) }

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
