package contract_test

import (
	"testing"

	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/contract"
)

// TestContention runs the contention tests of one instance (see
// contract.RunContention) on each app, one after the other.
func TestContention(t *testing.T) {
	t.Run("gin", func(t *testing.T) {
		contract.RunContention(t, ginapp.New)
	})
	t.Run("echo", func(t *testing.T) {
		contract.RunContention(t, echoapp.New)
	})
}
