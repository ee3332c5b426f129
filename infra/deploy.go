package infra

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodedeploy"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// newDeployments makes each function's deploys a canary when the stage says
// so: CodeDeploy sends 10 % of the alias's traffic to the new version for
// five minutes, then all of it, and moves the alias back if any of the
// function's alarms fires meanwhile. Without a canary the alias moves at
// once, which suits a stage nobody depends on.
func newDeployments(scope constructs.Construct, st *Stage, names []string, fns map[string]*function, a *alarms) {
	if !st.Canary {
		return
	}
	for _, name := range names {
		watched := a.byFunction[name]
		group := awscodedeploy.NewLambdaDeploymentGroup(scope, jsii.String("Deploy"+exportedName(name)), &awscodedeploy.LambdaDeploymentGroupProps{
			Alias:            fns[name].alias,
			DeploymentConfig: awscodedeploy.LambdaDeploymentConfig_CANARY_10PERCENT_5MINUTES(),
			Alarms:           &watched,
			AutoRollback: &awscodedeploy.AutoRollbackConfig{
				FailedDeployment:  jsii.Bool(true),
				DeploymentInAlarm: jsii.Bool(true),
			},
		})
		suppress(group, "AwsSolutions-IAM4",
			"CodeDeploy's own limited policy for Lambda deployments (invoke hooks, update aliases, read alarms), which AWS maintains with the service; the role can be assumed by CodeDeploy only",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited")
	}
}
