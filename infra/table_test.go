package infra

import (
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

func TestTable(t *testing.T) {
	s := stackTemplate(t)
	keyID := s.logicalID(t, "Key")
	tables := s.ofType("AWS::DynamoDB::Table")

	t.Run("MainAndAuditTablesOnly", func(t *testing.T) {
		var got []string
		for id := range tables {
			got = append(got, id)
		}
		want := []string{s.mainTable, s.auditTable}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("tables %v, want %v", got, want)
		}
	})

	// Every table, not only those this test knows of, holds data that must
	// survive a mistake.
	t.Run("EveryTableRecoverableProtectedAndRetained", func(t *testing.T) {
		for id, table := range tables {
			pitr, _ := table["PointInTimeRecoverySpecification"].(map[string]any)
			if pitr["PointInTimeRecoveryEnabled"] != true {
				t.Errorf("table %s: PointInTimeRecoverySpecification = %v, want enabled", id, pitr)
			}
			if table["DeletionProtectionEnabled"] != true {
				t.Errorf("table %s: DeletionProtectionEnabled = %v, want true", id, table["DeletionProtectionEnabled"])
			}
			r := s.resources[id]
			if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("table %s: DeletionPolicy %v, UpdateReplacePolicy %v, want Retain", id, r["DeletionPolicy"], r["UpdateReplacePolicy"])
			}
		}
	})

	for _, tc := range []struct {
		name   string
		id     string
		def    dynamo.TableDef
		stream bool
	}{
		{"Main", s.mainTable, dynamo.MainTable, true},
		{"Audit", s.auditTable, dynamo.AuditTable, false},
	} {
		table, def := tables[tc.id], tc.def
		t.Run(tc.name, func(t *testing.T) {
			if table == nil {
				t.Fatalf("no table %s", tc.id)
			}

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
						"Projection": templateProjection(ix),
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
				want := map[string]any{"PointInTimeRecoveryEnabled": true}
				if got := table["PointInTimeRecoverySpecification"]; !reflect.DeepEqual(got, want) {
					t.Errorf("PointInTimeRecoverySpecification = %v, want %v", got, want)
				}
				if got := table["DeletionProtectionEnabled"]; got != true {
					t.Errorf("DeletionProtectionEnabled = %v, want true", got)
				}
			})

			t.Run("RetainedWithStack", func(t *testing.T) {
				r := s.resources[tc.id]
				if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("DeletionPolicy %v, UpdateReplacePolicy %v, want Retain", r["DeletionPolicy"], r["UpdateReplacePolicy"])
				}
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

			// The local runtime creates its tables from def, so its stream
			// setting is the stack's too.
			if def.Stream != tc.stream {
				t.Errorf("the definition's Stream is %v, want %v", def.Stream, tc.stream)
			}
			if tc.stream {
				t.Run("StreamsNewAndOldImages", func(t *testing.T) {
					want := map[string]any{"StreamViewType": "NEW_AND_OLD_IMAGES"}
					if got := table["StreamSpecification"]; !reflect.DeepEqual(got, want) {
						t.Errorf("StreamSpecification = %v, want %v", got, want)
					}
				})
			} else {
				// Nothing consumes its changes: a stream would only cost a
				// record per write.
				t.Run("NoStream", func(t *testing.T) {
					if got, ok := table["StreamSpecification"]; ok {
						t.Errorf("StreamSpecification = %v, want none", got)
					}
				})
			}

			if def.TTLAttribute != "" {
				t.Run("ExpiresByTTLAttribute", func(t *testing.T) {
					want := map[string]any{"AttributeName": def.TTLAttribute, "Enabled": true}
					if got := table["TimeToLiveSpecification"]; !reflect.DeepEqual(got, want) {
						t.Errorf("TimeToLiveSpecification = %v, want %v", got, want)
					}
				})
			} else {
				// A TTL would let DynamoDB delete entries of the log.
				t.Run("NeverExpires", func(t *testing.T) {
					if got, ok := table["TimeToLiveSpecification"]; ok {
						t.Errorf("TimeToLiveSpecification = %v, want none", got)
					}
				})
			}
		})
	}
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

// templateProjection is the template form of ix's projection.
func templateProjection(ix dynamo.Index) map[string]any {
	switch {
	case ix.ProjectAll():
		return map[string]any{"ProjectionType": "ALL"}
	case len(ix.Include) == 0:
		return map[string]any{"ProjectionType": "KEYS_ONLY"}
	}
	attrs := make([]any, len(ix.Include))
	for i, a := range ix.Include {
		attrs[i] = a
	}
	return map[string]any{"ProjectionType": "INCLUDE", "NonKeyAttributes": attrs}
}

// TestProjections proves that the stack turns each kind of index
// definition into the projection DynamoDB Local is given for it, so that the
// local runtime's tests exercise what AWS will hold.
func TestProjections(t *testing.T) {
	for _, tt := range []struct {
		ix   dynamo.Index
		want awsdynamodb.ProjectionType
		attr []string
	}{
		{dynamo.Index{Name: "A"}, awsdynamodb.ProjectionType_ALL, nil},
		{dynamo.Index{Name: "K", KeysOnly: true}, awsdynamodb.ProjectionType_KEYS_ONLY, nil},
		{dynamo.Index{Name: "I", Include: []string{"type", "id"}}, awsdynamodb.ProjectionType_INCLUDE, []string{"type", "id"}},
	} {
		if got := projection(tt.ix); got != tt.want {
			t.Errorf("%s: projection %v, want %v", tt.ix.Name, got, tt.want)
		}
		var got []string
		if p := nonKey(tt.ix); p != nil {
			for _, a := range *p {
				got = append(got, *a)
			}
		}
		if !slices.Equal(got, tt.attr) {
			t.Errorf("%s: non-key attributes %v, want %v", tt.ix.Name, got, tt.attr)
		}
		local := dynamo.TableDef{PartitionKey: "PK", SortKey: "SK", Indexes: []dynamo.Index{tt.ix}}.CreateTableInput("t").GlobalSecondaryIndexes[0].Projection
		if string(local.ProjectionType) != string(tt.want) || !slices.Equal(local.NonKeyAttributes, tt.attr) {
			t.Errorf("%s: DynamoDB Local gets %v %v, want %v %v", tt.ix.Name, local.ProjectionType, local.NonKeyAttributes, tt.want, tt.attr)
		}
	}
}
