package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
)

// publishers are the functions that send notifications; only they get the
// topic and the right to publish to it.
var publishers = []string{api.FnComplaints, api.FnReminders, api.FnWebhooks}

// newTopic returns the notifications topic, encrypted with its own key
// (newNotificationsKey): the publishers may use it, and no service.
// Messages carry ids only; subscribers look up what their recipient may see.
func newTopic(scope constructs.Construct, st *Stage, key awskms.IKey) awssns.Topic {
	return awssns.NewTopic(scope, jsii.String("Notifications"), &awssns.TopicProps{
		DisplayName: jsii.String("Clientele " + st.Name + " notifications"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
}
