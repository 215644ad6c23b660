// composecheck validates compose files the way `docker compose config -q` does, without a Docker
// engine: compose-go (the library inside Docker Compose) loads the files, interpolates variables,
// validates them against the Compose Specification schema and checks references (volumes,
// depends_on, profiles). Usage: composecheck [-env-file FILE] [-profile P]... FILE...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var envFiles, profiles list
	flag.Var(&envFiles, "env-file", "environment file for interpolation (repeatable)")
	flag.Var(&profiles, "profile", "profile to enable (repeatable)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: composecheck [-env-file FILE] [-profile P]... FILE...")
		os.Exit(2)
	}
	files := flag.Args()
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
		cli.WithInterpolation(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "composecheck:", err)
		os.Exit(1)
	}
	names := project.ServiceNames()
	fmt.Printf("composecheck: %s: valid (project %q, services: %s)\n",
		strings.Join(files, " + "), project.Name, strings.Join(names, ", "))
}
