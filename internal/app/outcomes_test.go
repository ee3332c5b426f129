package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

func TestOutcomeEMF(t *testing.T) {
	rep := crm.DataQualityReport{}
	rep.SelfServiceRate, rep.SuspectRate = 0.8, 0.01
	rep.UpdateCycle = crm.CycleStats{Count: 3, MedianHours: -1}
	line := EMF(rep, "prod", time.Unix(1700000000, 0))
	if line["SelfServiceRate"] != 0.8 || line["SuspectRate"] != 0.01 || line["UpdateCycleMedianHours"] != 4320.0 {
		t.Errorf("line = %v", line)
	}
}

func TestOutcomeSettings(t *testing.T) {
	env := map[string]string{"DORMANT_AFTER": "90d", "LOST_REASONS": "price, moved,closed",
		"QUALITY_TARGETS": "selfservice=90%,updatecycle=48h,suspect=1%,churn=4%"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.DormantAfter != 90*24*time.Hour || !slices.Equal(c.LostReasons, []string{"price", "moved", "closed"}) {
		t.Errorf("dormant after %v, reasons %v", c.DormantAfter, c.LostReasons)
	}
	if got := c.Targets; got.SelfService != 0.9 || got.UpdateCycleHours != 48 || got.Suspect != 0.01 || got.Churn != 0.04 || got.Completeness != 0.95 {
		t.Errorf("targets %+v", got)
	}
	t.Run("ErrBadValues", func(t *testing.T) {
		env := map[string]string{"DORMANT_AFTER": "1h", "LOST_REASONS": "price,no need", "QUALITY_TARGETS": "updatecycle=soon"}
		_, err := Load(func(k string) string { return env[k] })
		for _, name := range []string{"DORMANT_AFTER", "LOST_REASONS", "QUALITY_TARGETS"} {
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s not refused: %v", name, err)
			}
		}
	})
}
