package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
	"github.com/clientele-crm/clientele/internal/dynamo"
)

// personalDataKeys are the keys that protect personal data.
var personalDataKeys = []string{"Key", "FieldKey", "NotificationsKey"}

// TestKeysByPurpose proves that each kind of data has its key: the tables
// (and backups) one, the notifications topic another, logs a third; that
// every key rotates; and that no key protecting personal data lets an AWS
// service principal use it.
func TestKeysByPurpose(t *testing.T) {
	s := stackTemplate(t)
	keys := s.ofType("AWS::KMS::Key")
	if len(keys) != 5 {
		t.Errorf("%d keys, want 5 (tables, fields, notifications, operations, audit digests)", len(keys))
	}
	digestKey := s.logicalID(t, "AuditDigestKey")
	if k := keys[digestKey]; k["KeySpec"] != "ECC_NIST_P256" || k["KeyUsage"] != "SIGN_VERIFY" {
		t.Errorf("the audit digest key is %v/%v, want an ECC_NIST_P256 signing key", k["KeySpec"], k["KeyUsage"])
	}
	for id, k := range keys {
		if id == digestKey {
			continue // asymmetric keys do not rotate; old digests stay verifiable
		}
		if k["EnableKeyRotation"] != true {
			t.Errorf("key %s does not rotate", id)
		}
	}
	tableKey := s.logicalID(t, "Key")
	for id, tbl := range s.ofType("AWS::DynamoDB::Table") {
		sse, _ := tbl["SSESpecification"].(map[string]any)
		if !reflect.DeepEqual(sse["KMSMasterKeyId"], getAtt(tableKey, "Arn")) {
			t.Errorf("table %s encrypted with %v, want the table key", id, sse["KMSMasterKeyId"])
		}
	}
	for _, name := range personalDataKeys {
		id := s.logicalID(t, name)
		doc, _ := keys[id]["KeyPolicy"].(map[string]any)
		statements := list(doc["Statement"])
		if len(statements) == 0 {
			t.Errorf("key %s has no policy", name)
		}
		for _, st := range statements {
			st, _ := st.(map[string]any)
			if p := jsonString(st["Principal"]); strings.Contains(p, `"Service"`) || strings.Contains(p, "amazonaws.com") {
				t.Errorf("key %s lets a service use it: %s", name, jsonString(st))
			}
		}
	}
}

// TestKeyGrants proves, per function and per purpose, what each function
// may do with the field key: seal (kms:GenerateDataKey) exactly the purposes
// it writes, open (kms:Decrypt) exactly those it writes or reads, and
// nothing on that key without a purpose condition; that the table key is
// reachable only through DynamoDB or for the function's own entities of
// envelopes sealed before purposes; and that no policy grants
// kms:ReEncrypt*.
func TestKeyGrants(t *testing.T) {
	s := stackTemplate(t)
	fieldKey := getAtt(s.logicalID(t, "FieldKey"), "Arn")
	tableKey := getAtt(s.logicalID(t, "Key"), "Arn")
	statements := s.allowStatements()

	for _, st := range statements {
		for _, a := range st.actions {
			if strings.HasPrefix(a, "kms:ReEncrypt") || a == "kms:*" || a == "kms:GenerateDataKey*" {
				t.Errorf("policy %s grants %s", st.policy, a)
			}
		}
	}

	// onKey returns the statements of fn's role that name key.
	onKey := func(t *testing.T, fn string, key any) []statement {
		role := ref(s.logicalID(t, "Fn"+exportedName(fn)+"Role"))
		var out []statement
		for _, st := range statements {
			if slices.ContainsFunc(st.roles, func(r any) bool { return reflect.DeepEqual(r, role) }) &&
				slices.ContainsFunc(st.resources, func(r any) bool { return reflect.DeepEqual(r, key) }) {
				out = append(out, st)
			}
		}
		return out
	}
	// allows reports whether one of sts allows action for an encryption
	// context naming purpose.
	allows := func(sts []statement, action, purpose string) bool {
		for _, st := range sts {
			if !slices.Contains(st.actions, action) {
				continue
			}
			eq, _ := st.raw["Condition"].(map[string]any)["StringEquals"].(map[string]any)
			if slices.Contains(stringList(eq["kms:EncryptionContext:purpose"]), purpose) && eq["kms:EncryptionContext:table"] == dynamo.LogicalTable {
				return true
			}
		}
		return false
	}

	for _, fn := range Functions(api.Routes()) {
		g := fieldGrants[fn]
		t.Run(fn, func(t *testing.T) {
			field := onKey(t, fn, fieldKey)
			for _, st := range field {
				eq, _ := st.raw["Condition"].(map[string]any)["StringEquals"].(map[string]any)
				if len(stringList(eq["kms:EncryptionContext:purpose"])) == 0 {
					t.Errorf("policy %s grants %v on the field key for any purpose", st.policy, st.actions)
				}
			}
			for _, p := range dynamo.Purposes() {
				seal := p == dynamo.PurposeBlindIndex || slices.Contains(g.Seal, p)
				open := seal || slices.Contains(g.Open, p)
				if got := allows(field, "kms:GenerateDataKey", p); got != seal {
					t.Errorf("may seal %s: %v, want %v", p, got, seal)
				}
				if got := allows(field, "kms:Decrypt", p); got != open {
					t.Errorf("may open %s: %v, want %v", p, got, open)
				}
			}
			for _, st := range onKey(t, fn, tableKey) {
				cond, _ := st.raw["Condition"].(map[string]any)
				eq, _ := cond["StringEquals"].(map[string]any)
				switch {
				case eq["kms:ViaService"] != nil:
					if !strings.Contains(jsonString(eq["kms:ViaService"]), `dynamodb.`) {
						t.Errorf("policy %s: the table key through %v, want DynamoDB", st.policy, eq["kms:ViaService"])
					}
				case slices.Equal(st.actions, []string{"kms:Decrypt"}) && eq["kms:EncryptionContext:purpose"] != nil:
					if !slices.Equal(stringList(eq["kms:EncryptionContext:purpose"]), []string{dynamo.PurposeBlindIndex}) {
						t.Errorf("policy %s opens %v under the table key, want the first blind-index key only", st.policy, eq)
					}
				case slices.Equal(st.actions, []string{"kms:Decrypt"}) && eq["kms:EncryptionContext:entity"] != nil:
					want := dynamo.EntitiesOf(slices.Concat(g.Seal, g.Open)...)
					if got := stringList(eq["kms:EncryptionContext:entity"]); !slices.Equal(got, want) {
						t.Errorf("legacy envelopes of %v, want %v", got, want)
					}
					if null, _ := cond["Null"].(map[string]any); null["kms:EncryptionContext:purpose"] != "true" {
						t.Errorf("legacy grant %s not limited to contexts without a purpose: %v", st.policy, cond)
					}
				case fn == api.FnReports && slices.Equal(st.actions, []string{"kms:Decrypt", "kms:DescribeKey"}) && cond == nil:
					// The stream's event source: the CDK's stream read
					// grant, which reading an encrypted stream needs.
				default:
					t.Errorf("policy %s grants %v on the table key with %v", st.policy, st.actions, cond)
				}
			}
		})
	}
}
