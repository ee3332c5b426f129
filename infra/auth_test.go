package infra

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestUsers(t *testing.T) {
	for _, stage := range testStages {
		t.Run(stage, func(t *testing.T) { testUsers(t, stageTemplate(t, stage)) })
	}
}

func testUsers(t *testing.T, s *synthesized) {
	poolID, pool := s.only(t, "AWS::Cognito::UserPool")
	clients := s.ofType("AWS::Cognito::UserPoolClient")
	web, mobile := s.logicalID(t, "UserPool/WebClient"), s.logicalID(t, "UserPool/MobileClient")

	t.Run("InviteOnly", func(t *testing.T) {
		s.hasProperties(t, "AWS::Cognito::UserPool", map[string]any{
			"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
		})
	})

	t.Run("StrongPasswords", func(t *testing.T) {
		policies, _ := pool["Policies"].(map[string]any)
		pw, _ := policies["PasswordPolicy"].(map[string]any)
		if n, _ := pw["MinimumLength"].(float64); n < 12 {
			t.Errorf("MinimumLength = %v, want at least 12", pw["MinimumLength"])
		}
		for _, req := range []string{"RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"} {
			if pw[req] != true {
				t.Errorf("%s = %v, want true", req, pw[req])
			}
		}
	})

	t.Run("TOTPRequired", func(t *testing.T) {
		if got := pool["MfaConfiguration"]; got != "ON" {
			t.Errorf("MfaConfiguration = %v, want ON", got)
		}
		if got := pool["EnabledMfas"]; !reflect.DeepEqual(got, []any{"SOFTWARE_TOKEN_MFA"}) {
			t.Errorf("EnabledMfas = %v, want TOTP only", got)
		}
	})

	t.Run("ThreatProtectionAsTheStageSays", func(t *testing.T) {
		addOns, _ := pool["UserPoolAddOns"].(map[string]any)
		enforced := addOns["AdvancedSecurityMode"] == "ENFORCED"
		if enforced != s.stage.Auth.ThreatProtection {
			t.Errorf("UserPoolAddOns = %v, want enforced = %v", addOns, s.stage.Auth.ThreatProtection)
		}
	})

	t.Run("EmailSenderAsTheStageSays", func(t *testing.T) {
		email, _ := pool["EmailConfiguration"].(map[string]any)
		if s.stage.Auth.SESFromAddress == "" {
			if email["EmailSendingAccount"] == "DEVELOPER" {
				t.Errorf("EmailConfiguration = %v, want Cognito's default sender", email)
			}
			return
		}
		if email["EmailSendingAccount"] != "DEVELOPER" || !strings.Contains(jsonString(email["From"]), s.stage.Auth.SESFromAddress) ||
			!strings.Contains(jsonString(email["SourceArn"]), ":identity/"+s.stage.Auth.SESFromAddress) {
			t.Errorf("EmailConfiguration = %v, want SES from %s", email, s.stage.Auth.SESFromAddress)
		}
	})

	t.Run("RemovalAsTheStageSays", func(t *testing.T) {
		policy := "Delete"
		if s.stage.Retain {
			policy = "Retain"
		}
		s.hasPolicy(t, "AWS::Cognito::UserPool", policy)
		if pool["DeletionProtection"] != map[bool]string{true: "ACTIVE", false: "INACTIVE"}[s.stage.Retain] {
			t.Errorf("DeletionProtection = %v with retain %v", pool["DeletionProtection"], s.stage.Retain)
		}
	})

	t.Run("HostedDomainOfTheStage", func(t *testing.T) {
		s.hasProperties(t, "AWS::Cognito::UserPoolDomain", map[string]any{
			"Domain": s.stage.Auth.DomainPrefix, "UserPoolId": ref(poolID),
		})
	})

	t.Run("OnlyTheWebAndMobileClientsAndTheIntegrations", func(t *testing.T) {
		if len(clients) != 2+len(s.stage.Auth.MachineClients) || clients[web] == nil || clients[mobile] == nil {
			t.Errorf("clients %v, want the web and mobile clients and one per integration", slices.Collect(maps.Keys(clients)))
		}
	})

	for id, callbacks := range map[string][]string{web: s.stage.Auth.WebCallbackURLs, mobile: s.stage.Auth.MobileCallbackURLs} {
		c := clients[id]
		t.Run("AuthorizationCode/"+id, func(t *testing.T) {
			if got := c["GenerateSecret"]; got != false {
				t.Errorf("GenerateSecret = %v, want false (a public client)", got)
			}
			if !reflect.DeepEqual(c["AllowedOAuthFlows"], []any{"code"}) || c["AllowedOAuthFlowsUserPoolClient"] != true {
				t.Errorf("AllowedOAuthFlows = %v, want [code] only", c["AllowedOAuthFlows"])
			}
			var want []any
			for _, u := range callbacks {
				want = append(want, u)
			}
			if id == web {
				want = append(want, s.consoleURL(t)) // the deployed console's, always
			}
			if !reflect.DeepEqual(c["CallbackURLs"], want) {
				t.Errorf("CallbackURLs = %v, want %v", c["CallbackURLs"], want)
			}
			// No password flow: sign-in goes through the hosted pages,
			// where MFA and threat protection apply.
			for _, f := range stringList(c["ExplicitAuthFlows"]) {
				if f != "ALLOW_REFRESH_TOKEN_AUTH" {
					t.Errorf("ExplicitAuthFlows has %s", f)
				}
			}
		})
	}

	t.Run("GroupPerRole", func(t *testing.T) {
		got := map[string]any{}
		for _, g := range s.ofType("AWS::Cognito::UserPoolGroup") {
			got[g["GroupName"].(string)] = g["UserPoolId"]
		}
		want := map[string]any{}
		for _, r := range crm.Roles {
			want[string(r)] = ref(poolID)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("groups = %v, want %v", got, want)
		}
	})
}

func TestOutputs(t *testing.T) {
	s := stackTemplate(t)
	for _, name := range []string{"ApiUrl", "UserPoolId", "WebClientId", "MobileClientId", "SignInDomain", "TableName", "AuditTableName", "KeyArn", "FieldKeyArn", "AlarmTopicArn", "NotificationsTopicArn", "BackupPlanId"} {
		out, ok := s.outputs[name].(map[string]any)
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		export, _ := out["Export"].(map[string]any)
		if want := "Clientele-" + s.stage.Name + "-" + name; export["Name"] != want {
			t.Errorf("output %s exported as %v, want %s", name, export["Name"], want)
		}
	}
}
