package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestEMFStageDimension(t *testing.T) {
	rep := crm.DataQualityReport{}
	rep.CompletenessRate = 0.5
	at := time.Unix(1700000000, 0)

	dims := func(m map[string]any) any {
		return m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)["Dimensions"]
	}
	local := EMF(rep, "", at)
	if got := dims(local); !reflect.DeepEqual(got, [][]string{{}}) {
		t.Errorf("without a stage, Dimensions = %v, want none", got)
	}
	if _, ok := local["Stage"]; ok {
		t.Error("without a stage, the line has a Stage value")
	}
	staged := EMF(rep, "prod", at)
	if got := dims(staged); !reflect.DeepEqual(got, [][]string{{"Stage"}}) {
		t.Errorf("Dimensions = %v, want [[Stage]]", got)
	}
	if staged["Stage"] != "prod" || staged["CompletenessRate"] != 0.5 {
		t.Errorf("line = %v, want Stage prod and the rate", staged)
	}
}
