package dynamo

import (
	"bytes"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clientele-crm/clientele/internal/crm"
)

// FuzzOpenCursor: any cursor a client hands back is a position this list
// sealed or a 400 naming the cursor, never a panic or another error.
func FuzzOpenCursor(f *testing.F) {
	s := tableWithIndexKey(bytes.Repeat([]byte{3}, 32))
	const fp = "customers|owner=alice"
	sealed, err := s.sealCursor(map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "CUST#c_1"}, "SK": &types.AttributeValueMemberS{Value: "PROFILE"}}, fp)
	if err != nil {
		f.Fatal(err)
	}
	other, _ := s.sealCursor(map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "CUST#c_2"}}, "complaints|")
	empty := s.keyset().cur.cursors.Seal([]byte(`{"k":{},"f":null}`))
	for _, c := range []string{sealed, other, empty, sealed + "A", "", "x", "%00", s.keyset().cur.cursors.Seal([]byte("not json"))} {
		f.Add(c)
	}
	// Sealing draws a random nonce, and each fuzzing worker runs this
	// setup again: compare positions, not cursor strings.
	f.Fuzz(func(t *testing.T, token string) {
		key, err := s.openCursor(token, fp)
		switch {
		case err != nil && crm.ErrorCode(err) != crm.EINVALID:
			t.Fatalf("refused with %v, want EINVALID", err)
		case err == nil && token != "" && (len(key) != 2 || str(key["PK"]) != "CUST#c_1" || str(key["SK"]) != "PROFILE"):
			t.Fatalf("a cursor this list did not seal opened as %v", key)
		}
	})
}

func str(v types.AttributeValue) string {
	s, _ := v.(*types.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}
