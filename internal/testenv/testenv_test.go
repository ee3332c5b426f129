package testenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestPlaintextShapes(t *testing.T) {
	for _, tt := range []struct {
		v    types.AttributeValue
		want string
	}{
		{&types.AttributeValueMemberS{Value: "+8613800138000"}, "phone number"},
		{&types.AttributeValueMemberS{Value: "call li.wei@example.com"}, "e-mail address"},
		{&types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x@y.io"}}}}}, "e-mail address"},
		{&types.AttributeValueMemberS{Value: "IDX#phone#q0-Zx_1a2b3c"}, ""},
		{&types.AttributeValueMemberS{Value: "2026-11-22T08:00:00.000000000Z#c_abc"}, ""},
		{&types.AttributeValueMemberB{Value: []byte("+8613800138000")}, ""},
	} {
		if got := plaintextIn(tt.v); got != tt.want {
			t.Errorf("%#v: got %q, want %q", tt.v, got, tt.want)
		}
	}
}
