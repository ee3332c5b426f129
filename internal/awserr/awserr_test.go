package awserr

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"
)

func TestTransient(t *testing.T) {
	throttle := map[string]bool{"ThrottlingException": true}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"Throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"ServerFault", &smithy.GenericAPIError{Code: "Anything", Fault: smithy.FaultServer}, true},
		{"DeadlineExceeded", context.DeadlineExceeded, true},
		{"ClientFault", &smithy.GenericAPIError{Code: "ValidationException", Fault: smithy.FaultClient}, false},
		{"PlainError", errors.New("boom"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transient(tt.err, throttle); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
