package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/crm"
)

// The integrations' side of the user pool: a resource server with the
// API's scopes, a confidential client-credentials app client per
// integration allowed only its scopes, and routes that bind no scope, so
// staff ID tokens still pass and the function checks scopes.
func TestMachineClients(t *testing.T) {
	s := stackTemplate(t)
	if len(s.stage.Auth.MachineClients) == 0 {
		t.Fatal("the prod stage lists no integration to test")
	}
	poolID, _ := s.only(t, "AWS::Cognito::UserPool")
	_, server := s.only(t, "AWS::Cognito::UserPoolResourceServer")

	t.Run("ResourceServerWithTheScopes", func(t *testing.T) {
		if server["Identifier"] != "clientele" || !reflect.DeepEqual(server["UserPoolId"], ref(poolID)) {
			t.Fatalf("resource server %v %v, want clientele on the pool", server["Identifier"], server["UserPoolId"])
		}
		var got []string
		for _, sc := range server["Scopes"].([]any) {
			got = append(got, "clientele/"+sc.(map[string]any)["ScopeName"].(string))
		}
		if !slices.Equal(got, crm.Scopes) {
			t.Errorf("scopes %v, want %v", got, crm.Scopes)
		}
	})

	clients := s.ofType("AWS::Cognito::UserPoolClient")
	for _, m := range s.stage.Auth.MachineClients {
		t.Run("ClientCredentials/"+m.Name, func(t *testing.T) {
			c := clients[s.logicalID(t, "UserPool/MachineClient"+exportedName(m.Name))]
			if c["GenerateSecret"] != true {
				t.Errorf("GenerateSecret = %v, want true (a confidential client)", c["GenerateSecret"])
			}
			if !reflect.DeepEqual(c["AllowedOAuthFlows"], []any{"client_credentials"}) || c["AllowedOAuthFlowsUserPoolClient"] != true {
				t.Errorf("AllowedOAuthFlows = %v, want [client_credentials] only", c["AllowedOAuthFlows"])
			}
			// The scopes join the resource server's identifier, a token
			// of the template, to the scope's name.
			var got []string
			for _, sc := range c["AllowedOAuthScopes"].([]any) {
				str := jsonString(sc)
				for _, want := range crm.Scopes {
					if strings.Contains(str, strings.TrimPrefix(want, "clientele/")) {
						got = append(got, want)
					}
				}
			}
			if !slices.Equal(got, m.Scopes) {
				t.Errorf("AllowedOAuthScopes name %v, want %v", got, m.Scopes)
			}
			if c["CallbackURLs"] != nil {
				t.Errorf("CallbackURLs = %v, want none", c["CallbackURLs"])
			}
		})
	}

	t.Run("RoutesBindNoScope", func(t *testing.T) {
		for id, r := range s.ofType("AWS::ApiGatewayV2::Route") {
			if r["AuthorizationScopes"] != nil {
				t.Errorf("route %s binds scopes %v: they would refuse every staff ID token", id, r["AuthorizationScopes"])
			}
		}
	})

	t.Run("EveryScopeReachesARoute", func(t *testing.T) {
		for _, sc := range crm.Scopes {
			if !slices.ContainsFunc(api.Routes(), func(r api.Route) bool { return r.AllowsClient([]string{sc}) }) {
				t.Errorf("no route admits %s", sc)
			}
		}
	})
}
