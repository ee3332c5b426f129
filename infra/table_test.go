package infra

import (
	"reflect"
	"testing"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

func TestTable(t *testing.T) {
	s := stackTemplate(t)
	_, table := s.only(t, "AWS::DynamoDB::Table")
	keyID, _ := s.only(t, "AWS::KMS::Key")
	def := dynamo.MainTable

	t.Run("KeysMatchSchema", func(t *testing.T) {
		got := table["KeySchema"]
		want := keySchema(def.PartitionKey, def.SortKey)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("KeySchema = %v, want %v", got, want)
		}
	})

	t.Run("IndexesMatchSchema", func(t *testing.T) {
		got := map[string]any{}
		for _, ix := range list(table["GlobalSecondaryIndexes"]) {
			ix := ix.(map[string]any)
			got[ix["IndexName"].(string)] = ix
		}
		want := map[string]any{}
		for _, ix := range def.Indexes {
			want[ix.Name] = map[string]any{
				"IndexName":  ix.Name,
				"KeySchema":  keySchema(ix.PartitionKey, ix.SortKey),
				"Projection": map[string]any{"ProjectionType": "ALL"},
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GlobalSecondaryIndexes = %v, want %v", got, want)
		}
	})

	t.Run("KeyAttributesAreStrings", func(t *testing.T) {
		got := map[string]any{}
		for _, a := range list(table["AttributeDefinitions"]) {
			a := a.(map[string]any)
			got[a["AttributeName"].(string)] = a["AttributeType"]
		}
		want := map[string]any{def.PartitionKey: "S", def.SortKey: "S"}
		for _, ix := range def.Indexes {
			want[ix.PartitionKey], want[ix.SortKey] = "S", "S"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("AttributeDefinitions = %v, want %v", got, want)
		}
	})

	t.Run("BilledOnDemand", func(t *testing.T) {
		if got := table["BillingMode"]; got != "PAY_PER_REQUEST" {
			t.Errorf("BillingMode = %v, want PAY_PER_REQUEST", got)
		}
	})

	t.Run("RecoverableAndProtected", func(t *testing.T) {
		s.hasProperties(t, "AWS::DynamoDB::Table", map[string]any{
			"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
			"DeletionProtectionEnabled":        true,
		})
	})

	t.Run("RetainedWithStack", func(t *testing.T) {
		s.hasPolicy(t, "AWS::DynamoDB::Table", "Retain")
	})

	t.Run("EncryptedWithCustomerManagedKey", func(t *testing.T) {
		sse, _ := table["SSESpecification"].(map[string]any)
		if sse["SSEEnabled"] != true || sse["SSEType"] != "KMS" {
			t.Errorf("SSESpecification = %v, want KMS enabled", sse)
		}
		if want := getAtt(keyID, "Arn"); !reflect.DeepEqual(sse["KMSMasterKeyId"], want) {
			t.Errorf("KMSMasterKeyId = %v, want %v", sse["KMSMasterKeyId"], want)
		}
	})

	t.Run("StreamsNewAndOldImages", func(t *testing.T) {
		s.hasProperties(t, "AWS::DynamoDB::Table", map[string]any{
			"StreamSpecification": map[string]any{"StreamViewType": "NEW_AND_OLD_IMAGES"},
		})
	})

	t.Run("ExpiresByTTLAttribute", func(t *testing.T) {
		s.hasProperties(t, "AWS::DynamoDB::Table", map[string]any{
			"TimeToLiveSpecification": map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true},
		})
	})
}

func TestKey(t *testing.T) {
	s := stackTemplate(t)

	t.Run("RotationEnabled", func(t *testing.T) {
		s.hasProperties(t, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true})
	})
	t.Run("RetainedWithStack", func(t *testing.T) {
		s.hasPolicy(t, "AWS::KMS::Key", "Retain")
	})
}

func keySchema(partition, sort string) []any {
	return []any{
		map[string]any{"AttributeName": partition, "KeyType": "HASH"},
		map[string]any{"AttributeName": sort, "KeyType": "RANGE"},
	}
}
