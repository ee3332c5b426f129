package importfile

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func asError(err error, e **crm.Error) bool { return errors.As(err, e) }

// FuzzParseCSV checks that any input either is refused as invalid or gives
// numbered rows, each an object or errors, never both.
func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{"name,phone\nA,1\n", "\ufeff姓名;手机\n王;1\n", "name\n\"a\"\"b\"\n", "name,phone\n\"A,1\n", "a,b\n1,2,3\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := ParseCSV(body)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		for i, r := range rows {
			if r.N != i+1 {
				t.Fatalf("row %d numbered %d", i+1, r.N)
			}
			if (r.JSON == nil) == (len(r.Errors) == 0) {
				t.Fatalf("row %d: object %s and errors %v", r.N, r.JSON, r.Errors)
			}
			if r.JSON != nil {
				var m map[string]any
				if err := json.Unmarshal(r.JSON, &m); err != nil {
					t.Fatalf("row %d is not an object: %v", r.N, err)
				}
			}
		}
	})
}
