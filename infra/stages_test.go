package infra

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// scopedNames are name properties whose uniqueness is within a parent
// resource of the stack, not the account, or that are no resource's name:
// they may repeat across stages.
var scopedNames = map[string][]string{
	"AWS::Cognito::UserPoolGroup":      {"GroupName"},
	"AWS::Lambda::Alias":               {"Name"},
	"AWS::ApiGatewayV2::Stage":         {"StageName"},
	"AWS::ApiGatewayV2::Authorizer":    {"Name"},
	"AWS::IAM::Policy":                 {"PolicyName"},
	"AWS::CodeDeploy::DeploymentGroup": {"DeploymentConfigName"},
	"AWS::CloudWatch::Alarm":           {"MetricName"},
	"AWS::Lambda::EventSourceMapping":  {"FunctionName"}, // the alias's ARN
}

// physicalNames returns every name the stack gives a resource itself, as
// "type.property=value" by logical id: properties ending in Name, Cognito's
// Domain, and the backup plan's name, whose value is a literal or joins
// literals. A value that only refers to another resource names that one,
// and the names CloudFormation generates begin with the stack's name.
func (s *synthesized) physicalNames() map[string]string {
	out := map[string]string{}
	for id, r := range s.resources {
		typ, _ := r["Type"].(string)
		props, _ := r["Properties"].(map[string]any)
		if plan, ok := props["BackupPlan"].(map[string]any); ok {
			out[id+".BackupPlanName"] = typ + ".BackupPlanName=" + jsonString(plan["BackupPlanName"])
		}
		for k, v := range props {
			if (!strings.HasSuffix(k, "Name") && k != "Domain") || slices.Contains(scopedNames[typ], k) {
				continue
			}
			if m, ok := v.(map[string]any); ok && m["Fn::Join"] == nil {
				continue
			}
			out[id+"."+k] = typ + "." + k + "=" + jsonString(v)
		}
	}
	return out
}

// customMetrics returns every metric of a namespace of our own that an
// alarm or the dashboard reads, as "namespace metric dimensions".
func (s *synthesized) customMetrics(tb testing.TB) []string {
	var out []string
	for id, a := range s.ofType("AWS::CloudWatch::Alarm") {
		ns, _ := a["Namespace"].(string)
		if ns == "" || strings.HasPrefix(ns, "AWS/") {
			continue
		}
		out = append(out, fmt.Sprintf("alarm %s: %s %v %s", id, ns, a["MetricName"], jsonString(a["Dimensions"])))
	}
	_, board := s.only(tb, "AWS::CloudWatch::Dashboard")
	body := jsonString(board["DashboardBody"])
	for _, m := range regexp.MustCompile(`\[\\"`+MetricNamespace+`\\",\\"(\w+)\\"([^\]]*)\]`).FindAllStringSubmatch(body, -1) {
		out = append(out, "dashboard: "+MetricNamespace+" "+m[1]+m[2])
	}
	return out
}

// TestStagesDoNotCollide synthesizes dev and prod into one app and proves
// that the two stacks can live in one account: distinct stack names, no
// physical name, export, or custom metric in common, and each of them
// tagged with its stage.
func TestStagesDoNotCollide(t *testing.T) {
	dev, prod := stageTemplate(t, "dev"), stageTemplate(t, "prod")

	t.Run("StackNames", func(t *testing.T) {
		if *dev.stack.StackName() == *prod.stack.StackName() {
			t.Errorf("both stages are stack %s", *dev.stack.StackName())
		}
	})

	t.Run("PhysicalNames", func(t *testing.T) {
		devNames := slices.Collect(maps.Values(dev.physicalNames()))
		prodNames := prod.physicalNames()
		if len(prodNames) < 6 {
			t.Fatalf("only %d physical names found: %v", len(prodNames), prodNames)
		}
		for id, name := range prodNames {
			if slices.Contains(devNames, name) {
				t.Errorf("%s: %s in both stages", id, name)
			}
			// A domain name is the stage file's own choice, and
			// dev's differ from it (checked above).
			if !strings.Contains(name, "prod") && !strings.Contains(name, `="`+prod.stage.API.DomainName+`"`) {
				t.Errorf("%s: %s does not carry the stage", id, name)
			}
		}
	})

	t.Run("Exports", func(t *testing.T) {
		exports := func(s *synthesized) []string {
			var out []string
			for _, o := range s.outputs {
				o, _ := o.(map[string]any)
				e, _ := o["Export"].(map[string]any)
				out = append(out, jsonString(e["Name"]))
			}
			return out
		}
		devExports := exports(dev)
		for _, e := range exports(prod) {
			if slices.Contains(devExports, e) {
				t.Errorf("export %s in both stages", e)
			}
		}
	})

	t.Run("MetricsCarryTheStage", func(t *testing.T) {
		devMetrics := dev.customMetrics(t)
		prodMetrics := prod.customMetrics(t)
		if len(prodMetrics) < 8 {
			t.Fatalf("only %d custom metrics read: %v", len(prodMetrics), prodMetrics)
		}
		for _, s := range []*synthesized{dev, prod} {
			for _, m := range s.customMetrics(t) {
				if !strings.Contains(m, `"Stage"`) && !strings.Contains(m, `\"Stage\"`) || !strings.Contains(m, s.stage.Name) {
					t.Errorf("%s: no Stage=%s dimension", m, s.stage.Name)
				}
			}
		}
		for _, m := range prodMetrics {
			_, metric, _ := strings.Cut(m, ": ")
			for _, d := range devMetrics {
				if _, dm, _ := strings.Cut(d, ": "); dm == metric {
					t.Errorf("metric %s read by both stages", metric)
				}
			}
		}
	})

	t.Run("KPIAlarmsFollowEachStagesTargets", func(t *testing.T) {
		for _, s := range []*synthesized{dev, prod} {
			a := s.resources[s.logicalID(t, "CompletenessTargetAlarm")]["Properties"].(map[string]any)
			if want := s.stage.Targets().Completeness; a["Threshold"] != want {
				t.Errorf("%s: completeness threshold %v, want %v", s.stage.Name, a["Threshold"], want)
			}
		}
		if dev.stage.Targets() == prod.stage.Targets() {
			t.Error("dev and prod have the same QUALITY_TARGETS; the test proves nothing")
		}
	})

	t.Run("Tagged", func(t *testing.T) {
		for _, s := range []*synthesized{dev, prod} {
			for _, id := range []string{s.mainTable, s.functions["customers"], s.logicalID(t, "Key")} {
				tags := jsonString(s.resources[id]["Properties"].(map[string]any)["Tags"])
				if !strings.Contains(tags, `{"Key":"Stage","Value":"`+s.stage.Name+`"}`) {
					t.Errorf("%s %s: Tags %s, want Stage=%s", s.stage.Name, id, tags, s.stage.Name)
				}
			}
		}
	})
}

// TestRemovalPerStage proves that dev is deleted with its stack, keys
// scheduled for deletion after the shortest window, and that prod keeps
// every resource holding data and protects the tables and the pool.
func TestRemovalPerStage(t *testing.T) {
	stateful := []string{"AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::Cognito::UserPool"}
	dev, prod := stageTemplate(t, "dev"), stageTemplate(t, "prod")

	t.Run("DevDestroysCleanly", func(t *testing.T) {
		for id, r := range dev.resources {
			if r["DeletionPolicy"] == "Retain" || r["DeletionPolicy"] == "RetainExceptOnCreate" {
				t.Errorf("dev retains %s (%v)", id, r["Type"])
			}
		}
		for id, tbl := range dev.ofType("AWS::DynamoDB::Table") {
			if tbl["DeletionProtectionEnabled"] == true {
				t.Errorf("dev table %s is protected from deletion", id)
			}
		}
		for id, k := range dev.ofType("AWS::KMS::Key") {
			if k["PendingWindowInDays"] != float64(7) {
				t.Errorf("dev key %s: PendingWindowInDays %v, want 7", id, k["PendingWindowInDays"])
			}
		}
	})

	t.Run("ProdRetains", func(t *testing.T) {
		for _, typ := range stateful {
			for id := range prod.ofType(typ) {
				if r := prod.resources[id]; r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
					t.Errorf("prod %s %s: DeletionPolicy %v, want Retain", typ, id, r["DeletionPolicy"])
				}
			}
		}
		for id, tbl := range prod.ofType("AWS::DynamoDB::Table") {
			if tbl["DeletionProtectionEnabled"] != true {
				t.Errorf("prod table %s is not protected from deletion", id)
			}
		}
	})
}
