package api

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOpenAPI checks the served OpenAPI document against the route table, so
// that neither can change without the other.
func TestOpenAPI(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	for _, c := range openAPIChecks {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range c.check(doc, Routes()) {
				t.Error(p)
			}
		})
	}
}

// openAPIChecks are the agreements between the document and the route table.
// Each returns one message per disagreement.
var openAPIChecks = []struct {
	name  string
	check func(doc map[string]any, routes []Route) []string
}{
	{"DeclaresOpenAPI31", checkVersion},
	{"DocumentsExactlyTheRoutes", checkPaths},
	{"PublicRoutesNeedNoTokenAndOthersNameTheirRoles", checkSecurity},
	{"PathParametersAreDeclaredRequired", checkPathParams},
	{"IdempotencyKeyOnlyOnIdempotentRoutes", checkIdempotencyKey},
	{"EveryRefResolvesToAComponent", checkRefs},
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func checkVersion(doc map[string]any, _ []Route) []string {
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.1.") {
		return []string{fmt.Sprintf("openapi is %q, want 3.1.x", v)}
	}
	return nil
}

// operations returns the document's operations by route key, "METHOD /path".
func operations(doc map[string]any) (map[string]map[string]any, []string) {
	var problems []string
	ops := map[string]map[string]any{}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		return ops, []string{"the document has no paths object"}
	}
	for path, item := range paths {
		pi, ok := item.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("path %s is not an object", path))
			continue
		}
		for _, m := range httpMethods {
			if o, ok := pi[m]; ok {
				op, ok := o.(map[string]any)
				if !ok {
					problems = append(problems, fmt.Sprintf("%s %s is not an object", strings.ToUpper(m), path))
					continue
				}
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops, problems
}

func checkPaths(doc map[string]any, routes []Route) []string {
	ops, problems := operations(doc)
	keys := map[string]bool{}
	for _, rt := range routes {
		keys[rt.Key()] = true
		if _, ok := ops[rt.Key()]; !ok {
			problems = append(problems, fmt.Sprintf("route %s is missing from openapi.json", rt.Key()))
		}
	}
	for k := range ops {
		if !keys[k] {
			problems = append(problems, fmt.Sprintf("openapi.json documents %s, which is not in Routes()", k))
		}
	}
	slices.Sort(problems)
	return problems
}

func checkSecurity(doc map[string]any, routes []Route) []string {
	var problems []string
	top, _ := doc["security"].([]any)
	if !requiresBearer(top) {
		problems = append(problems, `top-level security must be [{"bearer": []}]`)
	}
	schemes, _ := dig(doc, "components", "securitySchemes").(map[string]any)
	if b, _ := schemes["bearer"].(map[string]any); b["type"] != "http" || !strings.EqualFold(fmt.Sprint(b["scheme"]), "bearer") {
		problems = append(problems, "components.securitySchemes.bearer must be an http bearer scheme")
	}
	ops, _ := operations(doc)
	for _, rt := range routes {
		op, ok := ops[rt.Key()]
		if !ok {
			continue // reported by DocumentsExactlyTheRoutes
		}
		sec, hasSec := op["security"]
		list, isList := sec.([]any)
		if rt.Public() {
			if !hasSec || !isList || len(list) != 0 {
				problems = append(problems, fmt.Sprintf("%s is public but does not declare security: []", rt.Key()))
			}
			if rs, _ := op["x-roles"].([]any); len(rs) != 0 {
				problems = append(problems, fmt.Sprintf("%s is public but x-roles is %v", rt.Key(), rs))
			}
			continue
		}
		if hasSec && (!isList || !requiresBearer(list)) {
			problems = append(problems, fmt.Sprintf("%s needs a token but its security override %v does not require the bearer scheme", rt.Key(), sec))
		}
		want := make([]string, len(rt.Roles))
		for i, r := range rt.Roles {
			want[i] = string(r)
		}
		got, err := stringList(op["x-roles"])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: x-roles %v", rt.Key(), err))
			continue
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("%s: x-roles %v, route table says %v", rt.Key(), got, want))
		}
		// Machine clients' scopes, when the route admits any, are
		// declared exactly as the route table has them.
		gotScopes := []string{}
		if v, ok := op["x-scopes"]; ok {
			if gotScopes, err = stringList(v); err != nil {
				problems = append(problems, fmt.Sprintf("%s: x-scopes %v", rt.Key(), err))
				continue
			}
		}
		wantScopes := append([]string{}, rt.Scopes...)
		slices.Sort(gotScopes)
		slices.Sort(wantScopes)
		if !slices.Equal(gotScopes, wantScopes) {
			problems = append(problems, fmt.Sprintf("%s: x-scopes %v, route table says %v", rt.Key(), gotScopes, wantScopes))
		}
	}
	return problems
}

// requiresBearer reports whether a security requirement list is non-empty
// and every alternative in it requires the bearer scheme: an empty
// requirement object would make the token optional.
func requiresBearer(list []any) bool {
	if len(list) == 0 {
		return false
	}
	for _, req := range list {
		m, _ := req.(map[string]any)
		if _, ok := m["bearer"]; !ok {
			return false
		}
	}
	return true
}

func stringList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is %T, want an array of strings", v)
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("holds %v, want strings", x)
		}
		out = append(out, s)
	}
	return out, nil
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func checkPathParams(doc map[string]any, routes []Route) []string {
	var problems []string
	ops, _ := operations(doc)
	for _, rt := range routes {
		op, ok := ops[rt.Key()]
		if !ok {
			continue
		}
		params := parameters(doc, rt.Path, op)
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			p, ok := params["path "+m[1]]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s: path parameter %q is not declared", rt.Key(), m[1]))
			case p["required"] != true:
				problems = append(problems, fmt.Sprintf("%s: path parameter %q is not required", rt.Key(), m[1]))
			}
		}
		for k := range params {
			if name, ok := strings.CutPrefix(k, "path "); ok && !strings.Contains(rt.Path, "{"+name+"}") {
				problems = append(problems, fmt.Sprintf("%s declares path parameter %q, which is not in the path", rt.Key(), name))
			}
		}
	}
	return problems
}

func checkIdempotencyKey(doc map[string]any, routes []Route) []string {
	var problems []string
	ops, _ := operations(doc)
	for _, rt := range routes {
		op, ok := ops[rt.Key()]
		if !ok {
			continue
		}
		_, has := parameters(doc, rt.Path, op)["header idempotency-key"]
		switch {
		case rt.Idempotent && !has:
			problems = append(problems, fmt.Sprintf("%s is idempotent but does not declare the Idempotency-Key header", rt.Key()))
		case !rt.Idempotent && has:
			problems = append(problems, fmt.Sprintf("%s is not idempotent but declares the Idempotency-Key header", rt.Key()))
		}
	}
	return problems
}

// parameters returns the parameters of an operation, its path item's
// included, by "in name" (header names lower-cased), with $refs followed.
func parameters(doc map[string]any, path string, op map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	item, _ := dig(doc, "paths", path).(map[string]any)
	for _, list := range []any{item["parameters"], op["parameters"]} {
		arr, _ := list.([]any)
		for _, p := range arr {
			pm, _ := p.(map[string]any)
			if ref, ok := pm["$ref"].(string); ok {
				pm, _ = resolve(doc, ref).(map[string]any)
			}
			in, _ := pm["in"].(string)
			name, _ := pm["name"].(string)
			if in == "header" {
				name = strings.ToLower(name)
			}
			if in != "" && name != "" {
				out[in+" "+name] = pm
			}
		}
	}
	return out
}

func checkRefs(doc map[string]any, _ []Route) []string {
	var problems []string
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				switch {
				case !strings.HasPrefix(ref, "#/components/"):
					problems = append(problems, fmt.Sprintf("%s: $ref %q does not point into #/components/", at, ref))
				case resolve(doc, ref) == nil:
					problems = append(problems, fmt.Sprintf("%s: $ref %q does not resolve", at, ref))
				}
			}
			for k, e := range x {
				walk(e, at+"/"+k)
			}
		case []any:
			for i, e := range x {
				walk(e, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(doc, "#")
	slices.Sort(problems)
	return problems
}

// resolve follows a local JSON pointer reference, "#/a/b"; nil when it
// leads nowhere.
func resolve(doc map[string]any, ref string) any {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	parts := strings.Split(ptr, "/")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return dig(doc, parts...)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
