package contract_test

import (
	"testing"

	"github.com/hybridsession/hybridsession/examples/echo/echoapp"
	"github.com/hybridsession/hybridsession/examples/gin/ginapp"
	"github.com/hybridsession/hybridsession/examples/internal/contract"
)

// TestGinAndEchoShareSessions: the apps name their cookie alike and keep
// the same values, so a session made by one is the other's too.
func TestGinAndEchoShareSessions(t *testing.T) {
	contract.RunCross(t, "gin", ginapp.New, "echo", echoapp.New)
}
