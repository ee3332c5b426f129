package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clientele-crm/clientele/internal/crm"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	loggerKey
)

// ActorFromClaims builds the caller from JWT claims as API Gateway's JWT
// authorizer hands them to the function: every claim a string. It fails
// with EUNAUTHORIZED when the token names no user or carries a groups claim
// that ParseGroups refuses: a claim the function cannot read exactly must not
// be read generously.
func ActorFromClaims(claims map[string]string) (crm.Actor, error) {
	sub := claims["sub"]
	if sub == "" {
		return crm.Actor{}, crm.Errorf(crm.EUNAUTHORIZED, "a valid bearer token is required")
	}
	if isMachineToken(claims) {
		return machineActor(claims)
	}
	groups, err := ParseGroups(claims["cognito:groups"])
	if err != nil {
		return crm.Actor{}, err
	}
	a := crm.Actor{ID: sub}
	for _, g := range groups {
		if r := crm.Role(g); slices.Contains(crm.Roles, r) && !slices.Contains(a.Roles, r) {
			a.Roles = append(a.Roles, r)
		}
	}
	return a, nil
}

// isMachineToken reports whether claims are those of a client-credentials
// access token: Cognito issues them with sub equal to client_id and
// neither groups nor a user name. A user's access token also carries
// client_id, but its sub is the user's.
func isMachineToken(claims map[string]string) bool {
	id := claims["client_id"]
	return id != "" && claims["sub"] == id && claims["token_use"] == "access" &&
		claims["cognito:groups"] == "" && claims["username"] == "" && claims["cognito:username"] == ""
}

// machineActor builds a machine client from its token. Its scope claim is
// space-separated; scopes of other resource servers are not this API's and
// are ignored, but a claim that cannot be read is refused.
func machineActor(claims map[string]string) (crm.Actor, error) {
	id := claims["client_id"]
	scope := claims["scope"]
	if !ValidGroupName(id) || len(scope) > maxGroupsClaim {
		return crm.Actor{}, crm.Errorf(crm.EUNAUTHORIZED, "the token's client or scope claim cannot be read")
	}
	return crm.ClientActor(id, strings.Fields(scope)), nil
}

// ParseGroups reads the cognito:groups claim in exactly the two forms API
// Gateway delivers an array claim in: a JSON array of strings
// (`["sales","service"]`) and the HTTP API's stringified form, the names
// joined by single spaces inside brackets (`[sales service]`). An absent or
// empty claim is no groups. Anything else, and any group name that
// ValidGroupName refuses, is an EUNAUTHORIZED error: a separator or quote
// inside a name is what would let "sales,admin" or "x admin" read as admin.
func ParseGroups(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	bad := crm.Errorf(crm.EUNAUTHORIZED, "the token's groups claim cannot be read")
	if len(s) > maxGroupsClaim || !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, bad
	}
	// A group named "1" or "true" stringifies to valid JSON that is not an
	// array of strings: only that is the JSON form.
	var names []string
	if json.Unmarshal([]byte(s), &names) != nil {
		names = nil
		if inner := s[1 : len(s)-1]; inner != "" {
			names = strings.Split(inner, " ")
		}
	}
	for _, n := range names {
		if !ValidGroupName(n) {
			return nil, bad
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	return names, nil
}

// maxGroupsClaim bounds the work one claim can cause; a user in more
// groups than fit is a misconfiguration, not a caller to serve.
const maxGroupsClaim = 4096

// ValidGroupName reports whether name can be a group in a token the API
// accepts: non-empty UTF-8 without white space, control characters, quotes,
// backslashes, commas or brackets, so that both encodings ParseGroups reads
// carry it unchanged and no name can be split into, or trimmed down to,
// another.
func ValidGroupName(name string) bool {
	if name == "" || len(name) > 128 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || !unicode.IsPrint(r) || strings.ContainsRune(`"\,[]`, r) {
			return false
		}
	}
	return true
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
