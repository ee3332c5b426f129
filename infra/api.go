package infra

import (
	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
)

// Stage throttling, per second across all callers. It caps what a leaked
// token or a runaway client can cost; the API is for staff, not the public.
const (
	throttleRate  = 50
	throttleBurst = 100
)

// accessLogFormat is the JSON line API Gateway writes per request. It names
// the caller by token subject, never by anything from the request body.
var accessLogFormat = map[string]string{
	"requestId":        "$context.requestId",
	"requestTime":      "$context.requestTime",
	"sourceIp":         "$context.identity.sourceIp",
	"routeKey":         "$context.routeKey",
	"status":           "$context.status",
	"latency":          "$context.responseLatency",
	"integrationError": "$context.integrationErrorMessage",
	"authorizerError":  "$context.authorizer.error",
	"sub":              "$context.authorizer.claims.sub",
}

// newHTTPAPI returns the HTTP API with one route per entry of routes, each
// integrated with its function (payload format 2.0). Routes that are not
// Public require a valid user pool token for the app client; which roles may
// call a route is decided by the function, from the token's groups.
func newHTTPAPI(scope constructs.Construct, routes []api.Route, fns map[string]awslambda.IFunction, u users) awsapigatewayv2.HttpApi {
	httpAPI := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		Description: jsii.String("Clientele CRM API"),
	})

	jwt := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("UserPoolAuthorizer"), u.pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			AuthorizerName:  jsii.String("cognito"),
			UserPoolClients: &[]awscognito.IUserPoolClient{u.client},
		})
	none := awsapigatewayv2.NewHttpNoneAuthorizer()

	// One integration per function, shared by its routes.
	integrations := make(map[string]awsapigatewayv2integrations.HttpLambdaIntegration, len(fns))
	for _, name := range Functions(routes) {
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String("Integration"+exportedName(name)), fns[name],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}

	for _, r := range routes {
		var auth awsapigatewayv2.IHttpRouteAuthorizer = jwt
		if r.Public() {
			auth = none
		}
		// Construct ids may not contain "/"; the key stays readable in
		// the construct tree and the logical id stays unique.
		id := "Route " + strings.ReplaceAll(r.Key(), "/", "|")
		awsapigatewayv2.NewHttpRoute(httpAPI, jsii.String(id), &awsapigatewayv2.HttpRouteProps{
			HttpApi:     httpAPI,
			RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String(r.Path), awsapigatewayv2.HttpMethod(r.Method)),
			Integration: integrations[r.Function],
			Authorizer:  auth,
		})
	}

	configureStage(scope, httpAPI)
	return httpAPI
}

// configureStage adds access logging and throttling to the API's default
// stage. The HttpApi construct offers neither for the stage it creates, so
// they are set on the underlying CloudFormation resource.
func configureStage(scope constructs.Construct, httpAPI awsapigatewayv2.HttpApi) {
	logs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH,
	})
	format, _ := json.Marshal(accessLogFormat) // a map of strings always marshals

	stage := httpAPI.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:  jsii.Number(throttleRate),
		ThrottlingBurstLimit: jsii.Number(throttleBurst),
	})
}
