package ginapp

import (
	"net/http"
	"testing"

	"github.com/hybridsession/hybridsession/core"
	"github.com/hybridsession/hybridsession/examples/internal/contract"
)

func TestContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, m *core.Manager) http.Handler { return New(m) })
}
