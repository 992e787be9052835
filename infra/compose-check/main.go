// compose-check loads Compose files the way `docker compose` does, with compose-go (the Compose Specification's
// reference loader, the library docker compose itself is built on): the files are validated against the
// compose-spec JSON schema bundled in the module, interpolated, normalized and checked for consistency (depends_on,
// volumes, networks, secrets and configs must name things that exist; healthcheck tests must start with CMD,
// CMD-SHELL or NONE), then the service graph is checked for cycles. Nothing is fetched and no Docker engine is
// needed.
//
// Usage: compose-check FILE [FILE...]
//
// Exit 0 with the normalized project as JSON on stdout; exit 1 with one error line on stderr. Interpolation uses
// only the defaults written in the files (the caller's environment is ignored), so the result does not depend on
// who runs it. test/deployment-files.test.ts builds this program and reads its output.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/graph"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: compose-check FILE [FILE...]"))
	}
	files := os.Args[1:]
	dir, err := filepath.Abs(filepath.Dir(files[0]))
	if err != nil {
		fail(err)
	}
	options, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(dir),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	if err := graph.CheckCycle(project); err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
	os.Exit(1)
}
