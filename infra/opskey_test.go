package infra

import (
	"slices"
	"strings"
	"testing"
)

// TestOperationsKey proves that CloudWatch Logs may use the operations key
// only for this account's log groups in this region, that the key rotates,
// and that every log group of the stack is encrypted with it.
func TestOperationsKey(t *testing.T) {
	s := stackTemplate(t)
	keyID := s.logicalID(t, "OperationsKey")
	key, _ := s.resources[keyID]["Properties"].(map[string]any)
	if key["EnableKeyRotation"] != true {
		t.Error("the operations key does not rotate")
	}
	doc, _ := key["KeyPolicy"].(map[string]any)
	var logs map[string]any
	for _, st := range list(doc["Statement"]) {
		st, _ := st.(map[string]any)
		if st["Sid"] == "CloudWatchLogsOfThisAccount" {
			logs = st
		}
	}
	if logs == nil {
		t.Fatal("no key policy statement for CloudWatch Logs")
	}
	principal := jsonString(logs["Principal"])
	if !strings.Contains(principal, `"logs.",{"Ref":"AWS::Region"},".amazonaws.com"`) {
		t.Errorf("Principal = %s, want logs.<region>.amazonaws.com", principal)
	}
	cond := jsonString(logs["Condition"])
	if !containsAll(cond, `"ArnLike"`, `"kms:EncryptionContext:aws:logs:arn"`, `:logs:`, `"AWS::Region"`, `"AWS::AccountId"`, `:log-group:*`) {
		t.Errorf("Condition = %s, want this account's log groups in this region", cond)
	}
	if slices.Contains(stringList(logs["Action"]), "kms:*") {
		t.Error("CloudWatch Logs may do anything with the key")
	}
	for id, g := range s.ofType("AWS::Logs::LogGroup") {
		if !mentions(g["KmsKeyId"], keyID) {
			t.Errorf("log group %s: KmsKeyId %v, want the operations key", id, g["KmsKeyId"])
		}
	}
}
