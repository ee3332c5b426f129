package infra

import (
	"reflect"
	"slices"
	"testing"
)

// TestBackups proves that AWS Backup copies both tables on a schedule into a
// vault encrypted with the stack's key.
func TestBackups(t *testing.T) {
	s := stackTemplate(t)
	keyID := s.logicalID(t, "Key")
	vaultID, vault := s.only(t, "AWS::Backup::BackupVault")
	planID, plan := s.only(t, "AWS::Backup::BackupPlan")
	body, _ := plan["BackupPlan"].(map[string]any)
	rules := list(body["BackupPlanRule"])

	t.Run("PlanHasRulesIntoTheVault", func(t *testing.T) {
		if len(rules) == 0 {
			t.Fatal("backup plan has no rules")
		}
		for _, r := range rules {
			r, _ := r.(map[string]any)
			if want := getAtt(vaultID, "BackupVaultName"); !reflect.DeepEqual(r["TargetBackupVault"], want) {
				t.Errorf("rule %v backs up into %v, want %v", r["RuleName"], r["TargetBackupVault"], want)
			}
			if r["ScheduleExpression"] == nil {
				t.Errorf("rule %v has no schedule", r["RuleName"])
			}
		}
	})

	t.Run("DailyKept35DaysMonthlyKeptAYear", func(t *testing.T) {
		type rule struct {
			schedule string
			days     float64
		}
		got := map[string]rule{}
		for _, r := range rules {
			r, _ := r.(map[string]any)
			life, _ := r["Lifecycle"].(map[string]any)
			days, _ := life["DeleteAfterDays"].(float64)
			sched, _ := r["ScheduleExpression"].(string)
			got[r["RuleName"].(string)] = rule{sched, days}
		}
		want := map[string]rule{
			"Daily":   {"cron(0 3 * * ? *)", 35},
			"Monthly": {"cron(0 3 1 * ? *)", 365},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("rules = %+v, want %+v", got, want)
		}
	})

	t.Run("SelectionNamesBothTables", func(t *testing.T) {
		var selected []any
		for id, sel := range s.ofType("AWS::Backup::BackupSelection") {
			if !mentions(sel["BackupPlanId"], planID) {
				t.Errorf("selection %s belongs to plan %v, want %s", id, sel["BackupPlanId"], planID)
				continue
			}
			body, _ := sel["BackupSelection"].(map[string]any)
			selected = append(selected, list(body["Resources"])...)
		}
		for id := range s.ofType("AWS::DynamoDB::Table") {
			if !slices.ContainsFunc(selected, func(r any) bool { return reflect.DeepEqual(r, getAtt(id, "Arn")) }) {
				t.Errorf("table %s is not selected for backup (selected %v)", id, selected)
			}
		}
		for _, id := range []string{s.mainTable, s.auditTable} {
			if !slices.ContainsFunc(selected, func(r any) bool { return reflect.DeepEqual(r, getAtt(id, "Arn")) }) {
				t.Errorf("table %s is not selected for backup", id)
			}
		}
	})

	t.Run("VaultEncryptedWithStackKey", func(t *testing.T) {
		if want := getAtt(keyID, "Arn"); !reflect.DeepEqual(vault["EncryptionKeyArn"], want) {
			t.Errorf("EncryptionKeyArn = %v, want %v", vault["EncryptionKeyArn"], want)
		}
	})

	t.Run("VaultRetainedWithStack", func(t *testing.T) {
		r := s.resources[vaultID]
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("DeletionPolicy %v, UpdateReplacePolicy %v, want Retain", r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	})

	t.Run("NamesCarryTheStageAndTheStackCreation", func(t *testing.T) {
		if got, want := body["BackupPlanName"], "clientele-"+s.stage.Name; got != want {
			t.Errorf("BackupPlanName = %v, want %v", got, want)
		}
		name := jsonString(vault["BackupVaultName"])
		if !containsAll(name, `"clientele-`+s.stage.Name+`-"`, `"AWS::StackId"`) {
			t.Errorf("BackupVaultName = %s, want clientele-%s- and a piece of the stack id", name, s.stage.Name)
		}
	})

	t.Run("NoBackupsInAStageThatDestroys", func(t *testing.T) {
		dev := stageTemplate(t, "dev")
		if dev.stage.Backups {
			t.Fatal("the dev stage has backups on")
		}
		if n := len(dev.ofType("AWS::Backup::BackupVault")) + len(dev.ofType("AWS::Backup::BackupPlan")); n != 0 {
			t.Errorf("dev has %d backup resources, want none (a vault with recovery points blocks the stack's deletion)", n)
		}
	})

	t.Run("OutputNamesThePlan", func(t *testing.T) {
		out, _ := s.outputs["BackupPlanId"].(map[string]any)
		if want := getAtt(planID, "BackupPlanId"); !reflect.DeepEqual(out["Value"], want) {
			t.Errorf("output BackupPlanId = %v, want %v", out["Value"], want)
		}
	})
}
