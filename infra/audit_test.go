package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/clientele-crm/clientele/internal/dynamo"
)

// auditAllowed is all any role may do to the audit log: append an entry
// (conditioned, inside a transaction) and read entries.
var auditAllowed = []string{
	"dynamodb:ConditionCheckItem",
	"dynamodb:DescribeTable",
	"dynamodb:GetItem",
	"dynamodb:PutItem",
	"dynamodb:Query",
}

// auditForbidden are actions that change or remove items, named so that a
// failure says which one crept in.
var auditForbidden = []string{
	"dynamodb:UpdateItem",
	"dynamodb:DeleteItem",
	"dynamodb:BatchWriteItem",
	"dynamodb:PartiQLUpdate",
	"dynamodb:PartiQLDelete",
	"dynamodb:PartiQLInsert",
	"dynamodb:DeleteTable",
	"dynamodb:UpdateTable",
	"dynamodb:UpdateTimeToLive",
	"dynamodb:RestoreTableFromBackup",
	"dynamodb:*",
	"*",
}

// accessCountUpdate reports whether st is the one update right on the audit
// table: UpdateItem alone, on the table alone, and only where every
// partition key named begins with the access counts' prefix.
func accessCountUpdate(st statement, audit string) bool {
	cond, _ := st.raw["Condition"].(map[string]any)
	like, _ := cond["ForAllValues:StringLike"].(map[string]any)
	keys := list(like["dynamodb:LeadingKeys"])
	return slices.Equal(st.actions, []string{"dynamodb:UpdateItem"}) &&
		len(st.resources) == 1 && reflect.DeepEqual(st.resources[0], getAtt(audit, "Arn")) &&
		len(cond) == 1 && len(like) == 1 && len(keys) == 1 && keys[0] == dynamo.AccessKeyPrefix+"*"
}

// TestAuditLog proves that the audit log is append-only for every role of the
// stack: the functions can add and read entries and nothing else, and
// update the access counts kept beside them and nothing else.
func TestAuditLog(t *testing.T) {
	s := stackTemplate(t)
	audit := s.auditTable
	statements := s.allowStatements()

	// mayReachAudit reports whether st may apply to the audit table: it
	// names the table, or it grants DynamoDB (or any) actions on a wildcard
	// or on everything but some resources.
	mayReachAudit := func(st statement) bool {
		if slices.ContainsFunc(st.resources, func(r any) bool { return mentions(r, audit) }) {
			return true
		}
		dynamo := st.raw["NotAction"] != nil || slices.ContainsFunc(st.actions, func(a string) bool {
			return a == "*" || strings.HasPrefix(strings.ToLower(a), "dynamodb:")
		})
		if !dynamo {
			return false
		}
		return st.raw["NotResource"] != nil || slices.ContainsFunc(st.resources, func(r any) bool {
			str, ok := r.(string)
			return ok && strings.Contains(str, "*")
		})
	}

	t.Run("NoRoleCanUpdateOrDeleteRecords", func(t *testing.T) {
		reaching := 0
		for _, st := range statements {
			if !mayReachAudit(st) || onlyUnscoped(st) || accessCountUpdate(st, audit) {
				continue
			}
			reaching++
			if st.raw["NotAction"] != nil {
				t.Errorf("policy %s allows all but %v on the audit table", st.policy, st.raw["NotAction"])
			}
			for _, a := range st.actions {
				if slices.ContainsFunc(auditForbidden, func(f string) bool { return strings.EqualFold(a, f) }) {
					t.Errorf("policy %s allows %s on the audit table (%v)", st.policy, a, st.resources)
				} else if !slices.Contains(auditAllowed, a) {
					t.Errorf("policy %s allows %s on the audit table, want only %v", st.policy, a, auditAllowed)
				}
			}
		}
		if reaching == 0 {
			t.Fatal("no policy statement names the audit table")
		}
	})

	t.Run("EveryFunctionCanAppendAndRead", func(t *testing.T) {
		lambdas := s.ofType("AWS::Lambda::Function")
		putAnywhere := false
		for name, id := range s.functions {
			role, ok := lambdas[id]["Role"].(map[string]any)
			att, _ := role["Fn::GetAtt"].([]any)
			if !ok || len(att) == 0 {
				t.Errorf("function %s: Role = %v, want a role of the stack", name, lambdas[id]["Role"])
				continue
			}
			roleRef := ref(att[0].(string))
			// actions the function's role has on the table and on its indexes.
			onTable, onIndexes := map[string]bool{}, map[string]bool{}
			counts := false
			for _, st := range statements {
				if !slices.ContainsFunc(st.roles, func(r any) bool { return reflect.DeepEqual(r, roleRef) }) {
					continue
				}
				if accessCountUpdate(st, audit) {
					counts = true
					continue
				}
				for _, r := range st.resources {
					for _, a := range st.actions {
						switch {
						case reflect.DeepEqual(r, getAtt(audit, "Arn")):
							onTable[a] = true
						case reflect.DeepEqual(r, indexArn(audit)):
							onIndexes[a] = true
						}
					}
				}
			}
			if !counts {
				t.Errorf("function %s may not add to the access counts on the audit table", name)
			}
			putAnywhere = putAnywhere || onTable["dynamodb:PutItem"]
			for what, got := range map[string]map[string]bool{"table": onTable, "indexes": onIndexes} {
				if actions := sortedKeys(got); !slices.Equal(actions, auditAllowed) {
					t.Errorf("function %s may %v on the audit %s, want exactly %v", name, actions, what, auditAllowed)
				}
			}
		}
		if !putAnywhere {
			t.Error("no statement grants dynamodb:PutItem on the audit table: nothing can write the log")
		}
	})

	t.Run("OutputNamesTheTable", func(t *testing.T) {
		out, _ := s.outputs["AuditTableName"].(map[string]any)
		if !reflect.DeepEqual(out["Value"], ref(audit)) {
			t.Errorf("output AuditTableName = %v, want %v", out["Value"], ref(audit))
		}
	})
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
