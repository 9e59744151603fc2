package readmetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// goBlock is a fenced Go block of a Markdown file.
var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestQuickStartsBuild builds every complete program (a Go block that
// starts with "package main") of README.md, in this module: the Gin and
// the Echo quick starts must compile as pasted.
func TestQuickStartsBuild(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	built := 0
	for i, m := range goBlock.FindAllSubmatch(readme, -1) {
		src := m[1]
		if !regexp.MustCompile(`^package main\n`).Match(src) {
			continue
		}
		file := filepath.Join(t.TempDir(), "main.go")
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "build", "-o", os.DevNull, file)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README Go block %d does not build: %v\n%s\n%s", i+1, err, out, src)
		}
		built++
	}
	if built < 2 {
		t.Errorf("%d complete programs in README.md, want the Gin and the Echo quick start", built)
	}
}
