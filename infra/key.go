package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newKey returns the customer-managed key that encrypts the table at rest and
// wraps the data keys of field envelopes. A retaining stage keeps it when the
// stack is deleted: without it every sealed field and every backup is
// unreadable.
func newKey(scope constructs.Construct, st *Stage) awskms.Key {
	return awskms.NewKey(scope, jsii.String("Key"), &awskms.KeyProps{
		Description:       jsii.String("Clientele " + st.Name + ": DynamoDB encryption at rest and envelope encryption of personal data"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removalPolicy(st),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(pendingWindow(st))),
	})
}
