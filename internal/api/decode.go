package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// maxBody is the largest request body the API reads.
const maxBody = 256 << 10

const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// readBody reads the request body, refusing one over maxBody and, when a body
// is present, one that is not of an accepted media type.
func readBody(r *http.Request, accepted ...string) ([]byte, error) {
	return readBodyUpTo(r, maxBody, accepted...)
}

// readBodyUpTo is readBody with a limit of its own, for the one route
// (background import) that takes larger bodies.
func readBodyUpTo(r *http.Request, limit int, accepted ...string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, crm.Errorf(crm.EINVALID, "the request body could not be read")
	}
	if len(body) > limit {
		return nil, crm.Errorf(crm.ETOOLARGE, "the request body is over %d KiB", limit>>10)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(accepted, mt) {
		return nil, crm.Errorf(crm.EUNSUPPORTED, "send the body as %s", strings.Join(accepted, " or "))
	}
	return body, nil
}

// decodeStrict decodes a JSON object into the struct dst, checking every
// member on its own so that one answer names every unknown, read-only or
// mistyped field, nested fields by their dotted path.
func decodeStrict(body []byte, dst any, readOnly ...string) error {
	var v crm.Invalid
	if len(body) == 0 {
		v.Add("body", "required", "a JSON object is required")
		return v.Err()
	}
	if err := json.Unmarshal(body, new(any)); err != nil {
		var se *json.SyntaxError
		msg := "is not valid JSON"
		if errors.As(err, &se) {
			msg = fmt.Sprintf("is not valid JSON (at byte %d)", se.Offset)
		}
		v.Add("body", "malformed_json", msg)
		return v.Err()
	}
	decodeObject(body, reflect.ValueOf(dst).Elem(), "", readOnly, &v)
	return v.Err()
}

var timeType = reflect.TypeFor[time.Time]()

func decodeObject(raw json.RawMessage, dst reflect.Value, prefix string, readOnly []string, v *crm.Invalid) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		v.Add(orBody(strings.TrimSuffix(prefix, ".")), "type", "must be a JSON object")
		return
	}
	fields := jsonFields(dst.Type())
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		val, path := members[key], prefix+key
		i, ok := fields[key]
		switch {
		case !ok && slices.Contains(readOnly, path):
			v.Add(path, "read_only", "cannot be written")
			continue
		case !ok:
			v.Add(path, "unknown_field", "is not a field of this resource")
			continue
		}
		f := dst.Field(i)
		t := f.Type()
		isPtr := t.Kind() == reflect.Pointer
		if isPtr {
			t = t.Elem()
		}
		if string(bytes.TrimSpace(val)) == "null" {
			f.SetZero()
			continue
		}
		if t.Kind() == reflect.Struct && t != timeType {
			target := f
			if isPtr {
				f.Set(reflect.New(t))
				target = f.Elem()
			}
			decodeObject(val, target, path+".", readOnly, v)
			continue
		}
		if err := json.Unmarshal(val, f.Addr().Interface()); err != nil {
			v.Add(path, "type", "must be "+describe(t))
		}
	}
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// jsonFields maps the JSON names of a struct's fields to their indexes.
func jsonFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	return m
}

func describe(t reflect.Type) string {
	switch {
	case t == timeType:
		return "an RFC 3339 timestamp"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number"
	}
	return "of another type"
}

// mergePatch applies an RFC 7396 JSON merge patch to doc.
func mergePatch(doc, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	d, ok := doc.(map[string]any)
	if !ok {
		d = map[string]any{}
	}
	for k, pv := range p {
		if pv == nil {
			delete(d, k)
			continue
		}
		d[k] = mergePatch(d[k], pv)
	}
	return d
}

// patchInput applies a merge patch document to the writable fields of a
// resource and strictly decodes the result into a fresh T.
func patchInput[T any](current T, patch []byte, readOnly ...string) (T, error) {
	var zero T
	if len(patch) == 0 {
		return zero, crm.Invalid{{Field: "body", Code: "required", Message: "a JSON merge patch object is required"}}.Err()
	}
	var p any
	if err := json.Unmarshal(patch, &p); err != nil {
		return zero, decodeStrict(patch, &zero)
	}
	if _, ok := p.(map[string]any); !ok {
		return zero, crm.Invalid{{Field: "body", Code: "type", Message: "a merge patch must be a JSON object"}}.Err()
	}
	// Report unknown, read-only and mistyped members of the patch itself,
	// so errors name what the client sent.
	var probe T
	if err := decodeStrict(patch, &probe, readOnly...); err != nil {
		return zero, err
	}
	cur, err := json.Marshal(current)
	if err != nil {
		return zero, fmt.Errorf("encode current resource: %w", err)
	}
	var doc any
	if err := json.Unmarshal(cur, &doc); err != nil {
		return zero, fmt.Errorf("decode current resource: %w", err)
	}
	merged, err := json.Marshal(mergePatch(doc, p))
	if err != nil {
		return zero, fmt.Errorf("encode merged resource: %w", err)
	}
	var out T
	if err := decodeStrict(merged, &out, readOnly...); err != nil {
		return zero, err
	}
	return out, nil
}

// memberNames returns the names of a JSON object's members, nil for
// anything else.
func memberNames(body []byte) []string {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	return names
}
