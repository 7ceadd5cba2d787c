// Package e2e holds end-to-end tests of the plugin as a whole: a real packer binary
// runs real templates.
package e2e

import (
	"os"
	"testing"

	"github.com/packer-glance/packer-plugin-glance/internal/acctest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	acctest.Cleanup()
	os.Exit(code)
}
