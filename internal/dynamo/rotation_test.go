package dynamo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clientele-crm/clientele/internal/app"
	"github.com/clientele-crm/clientele/internal/crm"
	"github.com/clientele-crm/clientele/internal/testenv"
)

// TestRotationKeepsBothKeysOnConflict: when the re-derivation finds a
// value claimed by another customer under the new key, it names the
// customer, is not done, and the old key cannot be retired, so nothing
// indexed under it is lost.
func TestRotationKeepsBothKeysOnConflict(t *testing.T) {
	e := testenv.New(t, testenv.WithConfig(func(c *app.Config) { c.KeyRefresh = time.Nanosecond }))
	ctx := context.Background()
	alice := crm.Actor{ID: "alice", Roles: []crm.Role{crm.RoleSales}}
	c, err := e.Services.API.Customers.Create(ctx, alice, crm.CustomerInput{Name: "Li Wei", Phone: "+8613800138000"}, false)
	if err != nil {
		t.Fatal(err)
	}
	table := e.Services.Table
	rot := table.Rotation()
	if err := rot.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rot.Switch(ctx); err != nil {
		t.Fatal(err)
	}
	if err := table.ClaimUnderCurrentKey(ctx, crm.FieldPhone, c.Phone, "c_other"); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	_, conflicts, err := rot.Migrate(ctx, &progress)
	if err != nil || conflicts != 1 || !strings.Contains(progress.String(), c.ID) {
		t.Fatalf("migrate: %d conflicts, %v, progress %q", conflicts, err, progress.String())
	}
	if st, _ := rot.State(ctx); st.Done {
		t.Error("a re-derivation with a conflict says it is done")
	}
	if err := rot.Retire(ctx); err == nil {
		t.Error("the old key was retired with an entry still under it")
	}
	if st, _ := rot.State(ctx); st.Phase != "switched" {
		t.Errorf("phase %q after a refused retirement", st.Phase)
	}
}
