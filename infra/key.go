package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The stack's keys, one per purpose, so that a grant on one is a grant on
// what it protects and nothing else:
//
//   - Key: the tables at rest and their backups. Only DynamoDB, acting for
//     a function, uses it (kms:ViaService), and AWS Backup under the
//     grants it makes for itself. Envelopes sealed before the field key
//     existed were wrapped by it; the functions may still unwrap those,
//     each only for its own entities, until they are resealed.
//   - FieldKey: field envelopes and the blind-index key. Every grant on it
//     is conditioned on the purpose in the encryption context.
//   - NotificationsKey: the notifications topic, whose messages may carry
//     live self-service links.
//   - OperationsKey (opskey.go): logs and alarms, the only key an AWS
//     service principal may use.
//
// None of the first three has a statement for a service principal: a
// service acting on its own can never use a key that protects personal
// data.

// newKey returns the customer-managed key that encrypts the tables at rest
// and their backups. A retaining stage keeps it when the stack is deleted:
// without it every table and every backup is unreadable.
func newKey(scope constructs.Construct, st *Stage) awskms.Key {
	return personalDataKey(scope, st, "Key", "DynamoDB tables at rest and their backups")
}

// newFieldKey returns the key that wraps the data keys of field envelopes
// and the blind-index key.
func newFieldKey(scope constructs.Construct, st *Stage) awskms.Key {
	return personalDataKey(scope, st, "FieldKey", "envelope encryption of personal data fields, by purpose")
}

// newNotificationsKey returns the key of the notifications topic: its
// messages to customers carry live self-service links.
func newNotificationsKey(scope constructs.Construct, st *Stage) awskms.Key {
	return personalDataKey(scope, st, "NotificationsKey", "customer and staff notifications")
}

func personalDataKey(scope constructs.Construct, st *Stage, id, what string) awskms.Key {
	return awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String("Clientele " + st.Name + ": " + what),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removalPolicy(st),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(pendingWindow(st))),
	})
}

// newDigestKey returns the asymmetric key that signs the audit digests
// (ECC_NIST_P256, sign and verify). Asymmetric keys do not rotate; it is
// kept when a stage's data is, so that old digests can still be verified.
func newDigestKey(scope constructs.Construct, st *Stage) awskms.Key {
	return awskms.NewKey(scope, jsii.String("AuditDigestKey"), &awskms.KeyProps{
		Description:   jsii.String("Clientele " + st.Name + ": signs the audit trail's digests"),
		KeySpec:       awskms.KeySpec_ECC_NIST_P256,
		KeyUsage:      awskms.KeyUsage_SIGN_VERIFY,
		RemovalPolicy: removalPolicy(st),
		PendingWindow: awscdk.Duration_Days(jsii.Number(pendingWindow(st))),
	})
}

// grantDigestSigning lets fn sign digests with key, and tells it the key.
func grantDigestSigning(f *function, key awskms.Key) {
	f.fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Sign"),
		Resources: jsii.Strings(*key.KeyArn()),
	}))
	f.fn.AddEnvironment(jsii.String("AUDIT_SIGNING_KEY_ID"), key.KeyArn(), nil)
}
