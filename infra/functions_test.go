package infra

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/api"
)

func TestFunctions(t *testing.T) {
	s := stackTemplate(t)
	keyID := s.logicalID(t, "Key")
	lambdas := s.ofType("AWS::Lambda::Function")

	t.Run("OnePerRouteFunction", func(t *testing.T) {
		// Besides the CDK's own function that copies the console's files.
		deployers := 0
		for id := range lambdas {
			if strings.HasPrefix(id, "CustomCDKBucketDeployment") {
				deployers++
			}
		}
		if got, want := len(lambdas)-deployers, len(Functions(api.Routes())); got != want || deployers != 1 {
			t.Errorf("%d Lambda functions, want %d", got, want)
		}
	})

	for name, id := range s.functions {
		fn := lambdas[id]
		t.Run(name, func(t *testing.T) {
			t.Run("ProvidedAL2023OnArm64", func(t *testing.T) {
				if got := fn["Runtime"]; got != "provided.al2023" {
					t.Errorf("Runtime = %v, want provided.al2023", got)
				}
				if got, want := fn["Architectures"], []any{"arm64"}; !reflect.DeepEqual(got, want) {
					t.Errorf("Architectures = %v, want %v", got, want)
				}
				if got := fn["Handler"]; got != "bootstrap" {
					t.Errorf("Handler = %v, want bootstrap", got)
				}
			})

			t.Run("ConfiguredForTablesAndKey", func(t *testing.T) {
				env, _ := fn["Environment"].(map[string]any)
				vars, _ := env["Variables"].(map[string]any)
				want := map[string]any{
					"TABLE_NAME":        ref(s.mainTable),
					"AUDIT_TABLE_NAME":  ref(s.auditTable),
					"KEYRING":           "kms",
					"KMS_KEY_ID":        getAtt(s.logicalID(t, "FieldKey"), "Arn"),
					"LEGACY_KMS_KEY_ID": getAtt(keyID, "Arn"),
					"STAGE":             s.stage.Name,
					"FUNCTION_TIMEOUT":  fmt.Sprintf("%ds", s.stage.Function(name).TimeoutSeconds),
				}
				if name == api.FnReminders {
					want["AUDIT_SIGNING_KEY_ID"] = getAtt(s.logicalID(t, "AuditDigestKey"), "Arn")
				}
				// Every setting of the stage, as it is.
				for k, v := range s.stage.Settings {
					want[k] = v
				}
				if slices.Contains(publishers, name) {
					want["TOPIC_ARN"] = ref(s.notifications)
				}
				if name == api.FnCustomers || name == api.FnImports {
					want["IMPORT_QUEUE_URL"] = ref(s.logicalID(t, "ImportsQueue"))
					want["IMPORT_MAX_RECEIVE"] = "5"
				}
				if name == api.FnReports {
					// The stream consumer publishes the domain events.
					want["EVENT_BUS_NAME"] = ref(s.logicalID(t, "EventBus"))
					want["WEBHOOK_QUEUE_URL"] = ref(s.logicalID(t, "WebhookEvents"))
				}
				if !reflect.DeepEqual(vars, want) {
					t.Errorf("Environment.Variables = %v, want %v", vars, want)
				}
			})

			t.Run("LogsJSONToRetainedGroup", func(t *testing.T) {
				cfg, _ := fn["LoggingConfig"].(map[string]any)
				if cfg["LogFormat"] != "JSON" {
					t.Errorf("LogFormat = %v, want JSON", cfg["LogFormat"])
				}
				group, ok := cfg["LogGroup"].(map[string]any)
				if !ok {
					t.Fatalf("LoggingConfig.LogGroup = %v, want a Ref", cfg["LogGroup"])
				}
				props := s.ofType("AWS::Logs::LogGroup")[group["Ref"].(string)]
				if props["RetentionInDays"] != float64(s.stage.LogRetentionDays) {
					t.Errorf("log group %v: RetentionInDays %v, want %d", group["Ref"], props["RetentionInDays"], s.stage.LogRetentionDays)
				}
				if want := getAtt(s.logicalID(t, "OperationsKey"), "Arn"); !reflect.DeepEqual(props["KmsKeyId"], want) {
					t.Errorf("log group %v: KmsKeyId %v, want the operations key", group["Ref"], props["KmsKeyId"])
				}
			})

			t.Run("WritesOnlyItsOwnLogGroup", func(t *testing.T) {
				role := functionRole(t, s, id)
				if r := s.resources[role]["Properties"].(map[string]any); r["ManagedPolicyArns"] != nil {
					t.Errorf("role %s has managed policies %v", role, r["ManagedPolicyArns"])
				}
				cfg, _ := fn["LoggingConfig"].(map[string]any)
				group, _ := cfg["LogGroup"].(map[string]any)
				found := false
				for _, st := range s.allowStatements() {
					if !slices.ContainsFunc(st.roles, func(r any) bool { return mentions(r, role) }) {
						continue
					}
					for _, a := range st.actions {
						if !strings.HasPrefix(a, "logs:") {
							continue
						}
						found = true
						if want := []any{getAtt(group["Ref"].(string), "Arn")}; !reflect.DeepEqual(st.resources, want) {
							t.Errorf("%s on %v, want only the function's log group", a, st.resources)
						}
					}
				}
				if !found {
					t.Error("the role may not write logs")
				}
			})

			t.Run("Traced", func(t *testing.T) {
				if got := fn["TracingConfig"]; !reflect.DeepEqual(got, map[string]any{"Mode": "Active"}) {
					t.Errorf("TracingConfig = %v, want Active", got)
				}
			})

			t.Run("SizedAndReservedAsTheStageSays", func(t *testing.T) {
				want := s.stage.Function(name)
				if fn["MemorySize"] != float64(want.MemoryMB) || fn["Timeout"] != float64(want.TimeoutSeconds) {
					t.Errorf("MemorySize %v, Timeout %v, want %+v", fn["MemorySize"], fn["Timeout"], want)
				}
				if want.ReservedConcurrency == 0 {
					t.Fatal("the prod stage reserves no concurrency for " + name)
				}
				if fn["ReservedConcurrentExecutions"] != float64(want.ReservedConcurrency) {
					t.Errorf("ReservedConcurrentExecutions = %v, want %d", fn["ReservedConcurrentExecutions"], want.ReservedConcurrency)
				}
			})

			t.Run("LiveAliasOnAVersion", func(t *testing.T) {
				alias := s.resources[s.aliases[name]]
				props, _ := alias["Properties"].(map[string]any)
				if alias["Type"] != "AWS::Lambda::Alias" || props["Name"] != "live" || !reflect.DeepEqual(props["FunctionName"], ref(id)) {
					t.Fatalf("alias = %v, want live on %s", alias, id)
				}
				version, _ := props["FunctionVersion"].(map[string]any)
				att, _ := version["Fn::GetAtt"].([]any)
				if len(att) != 2 || s.resources[att[0].(string)]["Type"] != "AWS::Lambda::Version" {
					t.Errorf("FunctionVersion = %v, want a published version", props["FunctionVersion"])
				}
			})

			t.Run("CanaryRolledBackByItsAlarms", func(t *testing.T) {
				dg := s.resources[s.logicalID(t, "Deploy"+exportedName(name))]
				props, _ := dg["Properties"].(map[string]any)
				if jsonString(props["DeploymentConfigName"]) != `"CodeDeployDefault.LambdaCanary10Percent5Minutes"` {
					t.Errorf("DeploymentConfigName = %v, want the 10 %% five-minute canary", props["DeploymentConfigName"])
				}
				alarms, _ := props["AlarmConfiguration"].(map[string]any)
				if alarms["Enabled"] != true || len(list(alarms["Alarms"])) < 3 {
					t.Errorf("AlarmConfiguration = %v, want the function's alarms", alarms)
				}
				rollback, _ := props["AutoRollbackConfiguration"].(map[string]any)
				if rollback["Enabled"] != true || !slices.Contains(stringList(rollback["Events"]), "DEPLOYMENT_STOP_ON_ALARM") {
					t.Errorf("AutoRollbackConfiguration = %v, want rollback on alarm", rollback)
				}
				if !mentions(s.resources[s.aliases[name]]["UpdatePolicy"], s.logicalID(t, "Deploy"+exportedName(name))) {
					t.Errorf("alias UpdatePolicy = %v, want CodeDeploy's", s.resources[s.aliases[name]]["UpdatePolicy"])
				}
			})
		})
	}
}

func TestNotificationsTopic(t *testing.T) {
	s := stackTemplate(t)
	keyID := s.logicalID(t, "NotificationsKey")
	topic, _ := s.resources[s.notifications]["Properties"].(map[string]any)
	if !reflect.DeepEqual(topic["KmsMasterKeyId"], getAtt(keyID, "Arn")) {
		t.Errorf("topic encrypted with %v, want the notifications key", topic["KmsMasterKeyId"])
	}
}

// TestLeastPrivilege proves that the functions' roles reach the tables, their
// indexes and the keys, and nothing else, without wildcard actions. What they
// may do to the audit table is TestAuditLog's; what they may do with each
// key, TestKeyGrants's.
func TestLeastPrivilege(t *testing.T) {
	s := stackTemplate(t)
	var keyArns []any
	for _, k := range []string{"Key", "FieldKey", "NotificationsKey", "AuditDigestKey"} {
		keyArns = append(keyArns, getAtt(s.logicalID(t, k), "Arn"))
	}
	statements := s.allowStatements()
	granted := func(action string) bool {
		return slices.ContainsFunc(statements, func(st statement) bool { return slices.Contains(st.actions, action) })
	}
	// tableResources are the only resources DynamoDB actions may name: each
	// table and its indexes.
	var tableResources []any
	for _, id := range []string{s.mainTable, s.auditTable} {
		tableResources = append(tableResources, getAtt(id, "Arn"), indexArn(id))
	}

	t.Run("NoServiceWideActions", func(t *testing.T) {
		for _, st := range statements {
			for _, a := range st.actions {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("policy %s allows %s", st.policy, a)
				}
			}
		}
	})

	t.Run("DynamoDBOnlyOnTablesAndIndexes", func(t *testing.T) {
		for _, st := range statements {
			if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "dynamodb:") }) {
				continue
			}
			if onlyUnscoped(st) {
				continue
			}
			if len(st.resources) == 0 {
				t.Errorf("policy %s grants %v on %v, want only tables %s and %s", st.policy, st.actions, st.raw, s.mainTable, s.auditTable)
			}
			for _, r := range st.resources {
				if reflect.DeepEqual(r, getAtt(s.mainTable, "StreamArn")) && isStreamRead(st) && strings.HasPrefix(st.policy, "FnReports") {
					continue // the reports consumer reads the main table's stream
				}
				if !slices.ContainsFunc(tableResources, func(want any) bool { return reflect.DeepEqual(r, want) }) {
					t.Errorf("policy %s grants %v on %v, want only tables %s and %s and their indexes", st.policy, st.actions, r, s.mainTable, s.auditTable)
				}
			}
		}
	})

	t.Run("KMSOnlyOnKeys", func(t *testing.T) {
		for _, st := range statements {
			if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "kms:") }) {
				continue
			}
			for _, r := range st.resources {
				if !slices.ContainsFunc(keyArns, func(k any) bool { return reflect.DeepEqual(r, k) }) {
					t.Errorf("policy %s grants %v on %v, want only the stack's keys", st.policy, st.actions, r)
				}
			}
		}
	})

	t.Run("FunctionsCanSealAndStore", func(t *testing.T) {
		for _, a := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
			if !granted(a) {
				t.Errorf("no policy grants %s", a)
			}
		}
		onMain := func(action string) bool {
			return slices.ContainsFunc(statements, func(st statement) bool {
				return slices.Contains(st.actions, action) && slices.ContainsFunc(st.resources, func(r any) bool { return mentions(r, s.mainTable) })
			})
		}
		for _, a := range []string{"dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"} {
			if !onMain(a) {
				t.Errorf("no policy grants %s on table %s", a, s.mainTable)
			}
		}
	})

	t.Run("PublishOnlyToTheTopic", func(t *testing.T) {
		topicID := s.notifications
		publishing := 0
		for _, st := range statements {
			if !slices.ContainsFunc(st.actions, func(a string) bool { return strings.HasPrefix(a, "sns:") }) {
				continue
			}
			publishing++
			if !slices.Equal(st.actions, []string{"sns:Publish"}) || len(st.resources) != 1 || !reflect.DeepEqual(st.resources[0], ref(topicID)) {
				t.Errorf("policy %s grants %v on %v, want sns:Publish on topic %s only", st.policy, st.actions, st.resources, topicID)
			}
		}
		if publishing != len(publishers) {
			t.Errorf("%d policies may publish, want one per publishing function (%v)", publishing, publishers)
		}
	})

	t.Run("NoManagedFullAccess", func(t *testing.T) {
		for id, role := range s.ofType("AWS::IAM::Role") {
			if m := jsonString(role["ManagedPolicyArns"]); strings.Contains(m, "FullAccess") {
				t.Errorf("role %s has managed policies %s", id, m)
			}
		}
	})
}

// unscoped are the actions the functions are granted on "*" because they
// have no resource-level permission: the stream's event source lists
// streams (which reveals stream names only), and tracing sends segments to
// X-Ray.
var unscoped = []string{"dynamodb:ListStreams", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}

// onlyUnscoped reports whether st allows nothing but unscoped actions.
func onlyUnscoped(st statement) bool {
	return len(st.actions) > 0 && !slices.ContainsFunc(st.actions, func(a string) bool { return !slices.Contains(unscoped, a) })
}

func isStreamRead(st statement) bool {
	for _, a := range st.actions {
		if !slices.Contains([]string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}, a) {
			return false
		}
	}
	return true
}
