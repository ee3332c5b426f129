package infra

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
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
			aliasID := s.aliases[want.Function]
			if !mentions(integration["IntegrationUri"], aliasID) || integration["PayloadFormatVersion"] != "2.0" {
				t.Errorf("integration = %v, want the live alias %s with payload 2.0", integration, aliasID)
			}
		})
	}
}

func TestAuthorizer(t *testing.T) {
	s := stackTemplate(t)
	poolID, _ := s.only(t, "AWS::Cognito::UserPool")
	web, mobile := s.logicalID(t, "UserPool/WebClient"), s.logicalID(t, "UserPool/MobileClient")
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
	t.Run("AudienceIsTheAppClients", func(t *testing.T) {
		want := []any{ref(web), ref(mobile)}
		for _, m := range s.stage.Auth.MachineClients {
			want = append(want, ref(s.logicalID(t, "UserPool/MachineClient"+exportedName(m.Name))))
		}
		if got := jwt["Audience"]; !reflect.DeepEqual(got, want) {
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

	t.Run("AccessLogsOmitPaths", func(t *testing.T) {
		// /portal/{token} and /surveys/{token} carry bearer tokens in the
		// path: the log names the route template, never the path.
		settings, _ := stage["AccessLogSettings"].(map[string]any)
		format, _ := settings["Format"].(string)
		for _, v := range []string{"$context.path", "$context.resourcePath", "$context.requestOverride"} {
			if strings.Contains(format, v) {
				t.Errorf("access log format has %s", v)
			}
		}
	})

	t.Run("AccessLogGroupEncryptedWithOperationsKey", func(t *testing.T) {
		settings, _ := stage["AccessLogSettings"].(map[string]any)
		dest, _ := settings["DestinationArn"].(map[string]any)
		att, _ := dest["Fn::GetAtt"].([]any)
		group, _ := s.resources[att[0].(string)]["Properties"].(map[string]any)
		if want := getAtt(s.logicalID(t, "OperationsKey"), "Arn"); !reflect.DeepEqual(group["KmsKeyId"], want) {
			t.Errorf("KmsKeyId = %v, want %v", group["KmsKeyId"], want)
		}
		if group["RetentionInDays"] != float64(s.stage.LogRetentionDays) {
			t.Errorf("RetentionInDays = %v, want %d", group["RetentionInDays"], s.stage.LogRetentionDays)
		}
	})

	t.Run("DefaultThrottleIsStaffs", func(t *testing.T) {
		settings, _ := stage["DefaultRouteSettings"].(map[string]any)
		if settings["ThrottlingRateLimit"] != s.stage.API.Staff.Rate || settings["ThrottlingBurstLimit"] != s.stage.API.Staff.Burst {
			t.Errorf("DefaultRouteSettings = %v, want the staff throttle %+v", settings, s.stage.API.Staff)
		}
	})

	t.Run("ThrottlePerRoute", func(t *testing.T) {
		perRoute, _ := stage["RouteSettings"].(map[string]any)
		if len(perRoute) != len(api.Routes()) {
			t.Errorf("%d route settings, want one per route (%d)", len(perRoute), len(api.Routes()))
		}
		want := map[string]Throttle{"staff": s.stage.API.Staff, "public": s.stage.API.Public, "health": s.stage.API.Health}
		classes := map[string]int{}
		for _, r := range api.Routes() {
			rs, _ := perRoute[r.Key()].(map[string]any)
			w := want[routeClass(r)]
			if rs["ThrottlingRateLimit"] != w.Rate || rs["ThrottlingBurstLimit"] != w.Burst {
				t.Errorf("%s: %v, want the %s throttle %+v", r.Key(), rs, routeClass(r), w)
			}
			classes[routeClass(r)]++
		}
		if routeClass(api.Route{Method: "GET", Path: "/portal/{token}"}) != "public" || routeClass(api.Route{Method: "GET", Path: "/healthz"}) != "health" {
			t.Error("portal or health routes are not classed as public and health")
		}
		if classes["public"] == 0 || classes["health"] == 0 || classes["staff"] == 0 {
			t.Errorf("route classes %v, want public, health and staff routes", classes)
		}
		if s.stage.API.Public.Rate >= s.stage.API.Staff.Rate || s.stage.API.Health.Rate >= s.stage.API.Staff.Rate {
			t.Errorf("the stage's public (%v) or health (%v) rate is not lower than staff's (%v)", s.stage.API.Public, s.stage.API.Health, s.stage.API.Staff)
		}
		// Route settings may only name routes that exist first.
		stageID, _ := s.only(t, "AWS::ApiGatewayV2::Stage")
		deps := list(s.resources[stageID]["DependsOn"])
		for id := range s.ofType("AWS::ApiGatewayV2::Route") {
			if !slices.Contains(deps, any(id)) {
				t.Errorf("the stage does not depend on route %s", id)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	s := stackTemplate(t)
	_, httpAPI := s.only(t, "AWS::ApiGatewayV2::Api")
	cors, _ := httpAPI["CorsConfiguration"].(map[string]any)
	origins := []any{}
	for _, o := range s.stage.CORSOrigins() {
		origins = append(origins, o)
	}
	if len(origins) == 0 {
		t.Fatal("the stage has no CORS_ORIGINS")
	}
	origins = append(origins, s.consoleOrigin(t)) // the deployed console's, always
	want := map[string]any{
		"AllowOrigins":  origins,
		"AllowHeaders":  []any{"Authorization", "Content-Type", "If-Match", "Idempotency-Key"},
		"ExposeHeaders": []any{"ETag", "Location", "Retry-After"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(cors[k], v) {
			t.Errorf("CorsConfiguration.%s = %v, want %v", k, cors[k], v)
		}
	}
	if cors["AllowCredentials"] == true {
		t.Error("credentials (cookies) are allowed; the API takes bearer tokens only")
	}
}

func TestCustomDomain(t *testing.T) {
	prod, dev := stackTemplate(t), stageTemplate(t, "dev")
	apiID, _ := prod.only(t, "AWS::ApiGatewayV2::Api")
	domainID, domain := prod.only(t, "AWS::ApiGatewayV2::DomainName")
	if domain["DomainName"] != prod.stage.API.DomainName {
		t.Errorf("DomainName = %v, want %s", domain["DomainName"], prod.stage.API.DomainName)
	}
	if cfg := jsonString(domain["DomainNameConfigurations"]); !strings.Contains(cfg, prod.stage.API.CertificateArn) {
		t.Errorf("DomainNameConfigurations = %s, want the stage's certificate", cfg)
	}
	_, mapping := prod.only(t, "AWS::ApiGatewayV2::ApiMapping")
	if !reflect.DeepEqual(mapping["ApiId"], ref(apiID)) || !mentions(mapping["DomainName"], domainID) {
		t.Errorf("ApiMapping = %v, want the API on the domain", mapping)
	}
	if n := len(dev.ofType("AWS::ApiGatewayV2::DomainName")); n != 0 {
		t.Errorf("dev, without api.domainName, has %d custom domains", n)
	}
}
