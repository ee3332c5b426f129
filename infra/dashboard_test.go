package infra

import (
	"strings"
	"testing"
)

// TestDashboard proves that each stage has one dashboard, named after it,
// with the sections an on-call reads and the metrics behind each.
func TestDashboard(t *testing.T) {
	for _, stage := range testStages {
		s := stageTemplate(t, stage)
		t.Run(stage, func(t *testing.T) {
			_, board := s.only(t, "AWS::CloudWatch::Dashboard")
			if want := "Clientele-" + stage; board["DashboardName"] != want {
				t.Errorf("DashboardName = %v, want %s", board["DashboardName"], want)
			}
			body := jsonString(board["DashboardBody"])
			apiID, _ := s.only(t, "AWS::ApiGatewayV2::Api")
			want := []string{
				`## API`, `\"AWS/ApiGateway\",\"5xx\",\"ApiId\",\"",{"Ref":"` + apiID + `"}`,
				`## Functions`, `## Table`, `## Reminder job`, `## Stream consumer`, `## Data quality`,
				`\"AWS/DynamoDB\",\"WriteThrottleEvents\",\"TableName\",\"",{"Ref":"` + s.mainTable + `"}`,
				`\"IteratorAge\"`, `\"ApproximateNumberOfMessagesVisible\"`,
			}
			for name, id := range s.functions {
				want = append(want, name+": duration p99", `\"FunctionName\",\"",{"Ref":"`+id+`"}`)
			}
			for _, kpi := range []string{"CompletenessRate", "TimelinessRate", "DuplicateRate", "InvalidRate"} {
				want = append(want, `\"Clientele\",\"`+kpi+`\",\"Stage\",\"`+stage+`\"`)
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("the dashboard has no %s", w)
				}
			}
		})
	}
}
