package infra

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// suppress records that cdk-nag's rule id does not apply to construct (and
// its children), for reason; appliesTo narrows it to the findings named,
// such as "Resource::*". Each call sits beside the construct it excuses, so
// that a reviewer reads the reason where the resource is made.
func suppress(construct constructs.IConstruct, id, reason string, appliesTo ...string) {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		at := make([]any, len(appliesTo))
		for i, a := range appliesTo {
			at[i] = a
		}
		s.AppliesTo = &at
	}
	cdknag.NagSuppressions_AddResourceSuppressions(construct, &[]*cdknag.NagPackSuppression{s}, jsii.Bool(true))
}
