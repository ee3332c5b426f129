package infra

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestRoutes(t *testing.T) {
	s := stackTemplate(t)
	authorizerID, _ := s.only(t, "AWS::ApiGatewayV2::Authorizer")
	integrations := s.ofType("AWS::ApiGatewayV2::Integration")

	byKey := map[string]map[string]any{}
	for _, r := range s.ofType("AWS::ApiGatewayV2::Route") {
		byKey[r["RouteKey"].(string)] = r
	}

	t.Run("NoRouteOutsideTable", func(t *testing.T) {
		if got, want := len(byKey), len(api.Routes()); got != want {
			t.Errorf("%d routes, want %d", got, want)
		}
	})

	for _, want := range api.Routes() {
		t.Run(want.Key(), func(t *testing.T) {
			got, ok := byKey[want.Key()]
			if !ok {
				t.Fatalf("no route %q", want.Key())
			}

			if want.Public() {
				if got["AuthorizationType"] != "NONE" {
					t.Errorf("public route: AuthorizationType = %v, want NONE", got["AuthorizationType"])
				}
			} else {
				if got["AuthorizationType"] != "JWT" || !reflect.DeepEqual(got["AuthorizerId"], ref(authorizerID)) {
					t.Errorf("AuthorizationType, AuthorizerId = %v, %v, want JWT, %v", got["AuthorizationType"], got["AuthorizerId"], ref(authorizerID))
				}
			}

			var integration map[string]any
			for id, props := range integrations {
				if mentions(got["Target"], id) {
					integration = props
				}
			}
			if integration == nil {
				t.Fatalf("Target %v is no integration of the stack", got["Target"])
			}
			fnID := s.functions[want.Function]
			if !mentions(integration["IntegrationUri"], fnID) || integration["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration = %v, want function %s with payload 2.0", integration, fnID)
			}
		})
	}
}

func TestAuthorizer(t *testing.T) {
	s := stackTemplate(t)
	poolID, _ := s.only(t, "AWS::Cognito::UserPool")
	clientID, _ := s.only(t, "AWS::Cognito::UserPoolClient")
	_, authorizer := s.only(t, "AWS::ApiGatewayV2::Authorizer")
	jwt, _ := authorizer["JwtConfiguration"].(map[string]any)

	t.Run("JWT", func(t *testing.T) {
		if got := authorizer["AuthorizerType"]; got != "JWT" {
			t.Errorf("AuthorizerType = %v, want JWT", got)
		}
	})
	t.Run("IssuerIsUserPool", func(t *testing.T) {
		if !mentions(jwt["Issuer"], poolID) {
			t.Errorf("Issuer = %v, want the issuer of %s", jwt["Issuer"], poolID)
		}
	})
	t.Run("AudienceIsAppClient", func(t *testing.T) {
		if got, want := jwt["Audience"], []any{ref(clientID)}; !reflect.DeepEqual(got, want) {
			t.Errorf("Audience = %v, want %v", got, want)
		}
	})
}

func TestStage(t *testing.T) {
	s := stackTemplate(t)
	_, stage := s.only(t, "AWS::ApiGatewayV2::Stage")

	t.Run("IsDefaultAutoDeployed", func(t *testing.T) {
		if stage["StageName"] != "$default" || stage["AutoDeploy"] != true {
			t.Errorf("StageName, AutoDeploy = %v, %v, want $default, true", stage["StageName"], stage["AutoDeploy"])
		}
	})

	t.Run("AccessLogsJSONToGroup", func(t *testing.T) {
		settings, _ := stage["AccessLogSettings"].(map[string]any)
		dest, _ := settings["DestinationArn"].(map[string]any)
		att, _ := dest["Fn::GetAtt"].([]any)
		if len(att) != 2 || s.resources[att[0].(string)]["Type"] != "AWS::Logs::LogGroup" {
			t.Errorf("DestinationArn = %v, want a log group of the stack", settings["DestinationArn"])
		}
		format, _ := settings["Format"].(string)
		var fields map[string]string
		if err := json.Unmarshal([]byte(format), &fields); err != nil {
			t.Fatalf("Format %q: %v", format, err)
		}
		for field, variable := range map[string]string{
			"requestId": "$context.requestId",
			"routeKey":  "$context.routeKey",
			"status":    "$context.status",
			"latency":   "$context.responseLatency",
		} {
			if fields[field] != variable {
				t.Errorf("Format %s = %q, want %q", field, fields[field], variable)
			}
		}
	})

	t.Run("Throttled", func(t *testing.T) {
		settings, _ := stage["DefaultRouteSettings"].(map[string]any)
		if settings["ThrottlingRateLimit"] == nil || settings["ThrottlingBurstLimit"] == nil {
			t.Errorf("DefaultRouteSettings = %v, want rate and burst limits", settings)
		}
	})
}
