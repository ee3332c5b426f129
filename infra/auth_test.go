package infra

import (
	"reflect"
	"testing"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestUsers(t *testing.T) {
	s := stackTemplate(t)
	poolID, pool := s.only(t, "AWS::Cognito::UserPool")
	_, client := s.only(t, "AWS::Cognito::UserPoolClient")

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

	t.Run("MFAOptional", func(t *testing.T) {
		if got := pool["MfaConfiguration"]; got != "OPTIONAL" {
			t.Errorf("MfaConfiguration = %v, want OPTIONAL", got)
		}
	})

	t.Run("RetainedWithStack", func(t *testing.T) {
		s.hasPolicy(t, "AWS::Cognito::UserPool", "Retain")
	})

	t.Run("PublicClientWithoutSecret", func(t *testing.T) {
		if got := client["GenerateSecret"]; got != false {
			t.Errorf("GenerateSecret = %v, want false", got)
		}
	})

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
	for _, name := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "TableName", "AuditTableName", "KeyArn", "NotificationsTopicArn", "BackupPlanId"} {
		if _, ok := s.outputs[name]; !ok {
			t.Errorf("no output %s", name)
		}
	}
}
