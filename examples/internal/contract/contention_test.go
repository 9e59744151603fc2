package contract_test

import (
	"net/http"
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/contract"
)

// TestContention runs the contention tests of one instance (see
// contract.RunContention) on each app, one after the other.
func TestContention(t *testing.T) {
	t.Run("gin", func(t *testing.T) {
		contract.RunContention(t, func(t *testing.T, m *core.Manager) http.Handler { return ginapp.New(m) })
	})
	t.Run("echo", func(t *testing.T) {
		contract.RunContention(t, func(t *testing.T, m *core.Manager) http.Handler { return echoapp.New(m) })
	})
}
