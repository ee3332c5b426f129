package infra

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// TestNag proves that cdk-nag's AwsSolutions pack finds no error and no
// warning in either stage; what it would find and is accepted is
// suppressed beside the construct, with the reason.
func TestNag(t *testing.T) {
	for _, stage := range append(testStages, "prod/edge") {
		s := stageTemplate(t, stage)
		t.Run(stage, func(t *testing.T) {
			ann := assertions.Annotations_FromStack(s.stack)
			for kind, find := range map[string]func(*string, any) *[]*cxapi.SynthesisMessage{
				"error":   ann.FindError,
				"warning": ann.FindWarning,
			} {
				for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
					msg := fmt.Sprint(m.Entry.Data)
					if i := strings.Index(msg, "\n"); i > 0 {
						msg = msg[:i]
					}
					t.Errorf("%s at %s: %s", kind, *m.Id, msg)
				}
			}
		})
	}
}
