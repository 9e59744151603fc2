package echoapp

import (
	"testing"

	"github.com/hybridsession/hybridsession/examples/internal/contract"
)

func TestContract(t *testing.T) {
	contract.Run(t, New)
}
