package infra

import (
	"slices"

	"encoding/json"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/clientele-crm/clientele/internal/api"
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

// CORS, as API.md's conventions say: the headers a web client sends and
// the ones it must be able to read.
var (
	corsAllowHeaders  = []string{"Authorization", "Content-Type", "If-Match", "Idempotency-Key"}
	corsExposeHeaders = []string{"ETag", "Location", "Retry-After"}
)

// newHTTPAPI returns the HTTP API with one route per entry of routes, each
// integrated with its function's live alias (payload format 2.0). Routes
// that are not Public require a valid user pool token of one of the app
// clients; which roles may call a route is decided by the function, from the
// token's groups. consoleOrigin, the deployed console's, is a CORS origin
// besides the stage's own.
func newHTTPAPI(scope constructs.Construct, st *Stage, opsKey awskms.IKey, routes []api.Route, fns map[string]awslambda.IFunction, u users, consoleOrigin string) awsapigatewayv2.HttpApi {
	props := &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String("clientele-" + st.Name),
		Description: jsii.String("Clientele CRM API (" + st.Name + ")"),
	}
	if origins := append(st.CORSOrigins(), consoleOrigin); len(origins) > 0 {
		// API Gateway answers preflights itself and adds the headers to
		// the functions' responses, for listed origins only.
		props.CorsPreflight = &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:  jsii.Strings(origins...),
			AllowHeaders:  jsii.Strings(corsAllowHeaders...),
			ExposeHeaders: jsii.Strings(corsExposeHeaders...),
			AllowMethods: &[]awsapigatewayv2.CorsHttpMethod{
				awsapigatewayv2.CorsHttpMethod_GET, awsapigatewayv2.CorsHttpMethod_POST, awsapigatewayv2.CorsHttpMethod_PUT,
				awsapigatewayv2.CorsHttpMethod_PATCH, awsapigatewayv2.CorsHttpMethod_DELETE,
			},
			MaxAge: awscdk.Duration_Hours(jsii.Number(1)),
		}
	}
	if st.API.DomainName != "" {
		domain := awsapigatewayv2.NewDomainName(scope, jsii.String("ApiDomain"), &awsapigatewayv2.DomainNameProps{
			DomainName:  jsii.String(st.API.DomainName),
			Certificate: awscertificatemanager.Certificate_FromCertificateArn(scope, jsii.String("ApiCertificate"), jsii.String(st.API.CertificateArn)),
		})
		props.DefaultDomainMapping = &awsapigatewayv2.DomainMappingOptions{DomainName: domain}
	}
	httpAPI := awsapigatewayv2.NewHttpApi(scope, jsii.String("HttpApi"), props)

	clients := u.clients()
	jwt := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("UserPoolAuthorizer"), u.pool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			AuthorizerName:  jsii.String("cognito"),
			UserPoolClients: &clients,
		})
	none := awsapigatewayv2.NewHttpNoneAuthorizer()

	// One integration per function, shared by its routes.
	integrations := make(map[string]awsapigatewayv2integrations.HttpLambdaIntegration, len(fns))
	for _, name := range Functions(routes) {
		if !slices.ContainsFunc(routes, func(r api.Route) bool { return r.Function == name }) {
			continue // a function fed by a queue, not the API
		}
		integrations[name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(
			jsii.String("Integration"+exportedName(name)), fns[name],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}

	var made []constructs.IConstruct
	for _, r := range routes {
		var auth awsapigatewayv2.IHttpRouteAuthorizer = jwt
		if r.Public() {
			auth = none
		}
		// Construct ids may not contain "/"; the key stays readable in
		// the construct tree and the logical id stays unique.
		id := "Route " + strings.ReplaceAll(r.Key(), "/", "|")
		route := awsapigatewayv2.NewHttpRoute(httpAPI, jsii.String(id), &awsapigatewayv2.HttpRouteProps{
			HttpApi:     httpAPI,
			RouteKey:    awsapigatewayv2.HttpRouteKey_With(jsii.String(r.Path), awsapigatewayv2.HttpMethod(r.Method)),
			Integration: integrations[r.Function],
			Authorizer:  auth,
		})
		if r.Public() {
			suppress(route, "AwsSolutions-APIG4", publicReason(r))
		}
		made = append(made, route)
	}

	configureStage(scope, st, opsKey, httpAPI, routes, made)
	return httpAPI
}

// publicReason is why route r, which API Gateway does not authorize, is
// public by design.
func publicReason(r api.Route) string {
	if routeClass(r) == "health" {
		return "Public by the API contract: health check and the OpenAPI document, which reveal no data; throttled by the stage's health limit"
	}
	return "Customer self-service: the caller is a customer with no account, authenticated by the signed, expiring, single-use token in the path, which the function verifies; throttled by the stage's public limit, apart from staff routes"
}

// routeClass is which throttle of the stage a route falls under.
func routeClass(r api.Route) string {
	switch {
	case !r.Public():
		return "staff"
	case r.Path == "/healthz" || r.Path == "/openapi.json":
		return "health"
	}
	return "public"
}

// configureStage adds access logging and throttling to the API's default
// stage. The HttpApi construct offers neither for the stage it creates, so
// they are set on the underlying CloudFormation resource.
//
// Throttles are per route: every route gets its class's limit (staff,
// public, health), so that anonymous callers of the portal and survey
// routes, which anyone on the internet can reach, cannot use up the limit
// of the staff's routes. The default route settings, which would be one
// stage-wide limit, are the staff's and cover any route added without a
// class.
func configureStage(scope constructs.Construct, st *Stage, opsKey awskms.IKey, httpAPI awsapigatewayv2.HttpApi, routes []api.Route, made []constructs.IConstruct) {
	logs := awslogs.NewLogGroup(scope, jsii.String("HttpApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     st.logRetention(),
		RemovalPolicy: removalPolicy(st),
		EncryptionKey: opsKey,
	})
	format, _ := json.Marshal(accessLogFormat) // a map of strings always marshals

	stage := httpAPI.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(string(format)),
	})
	throttles := map[string]Throttle{"staff": st.API.Staff, "public": st.API.Public, "health": st.API.Health}
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:  jsii.Number(st.API.Staff.Rate),
		ThrottlingBurstLimit: jsii.Number(st.API.Staff.Burst),
	})
	perRoute := make(map[string]any, len(routes))
	for _, r := range routes {
		t := throttles[routeClass(r)]
		perRoute[r.Key()] = map[string]any{"ThrottlingRateLimit": t.Rate, "ThrottlingBurstLimit": t.Burst}
	}
	stage.SetRouteSettings(perRoute)
	// Route settings name routes by key, which must exist first.
	for _, c := range made {
		stage.Node().AddDependency(c)
	}
}
