package api_test

import (
	"testing"

	"github.com/clientele-crm/clientele/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
