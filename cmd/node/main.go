// Command node is synod's node binary (built as "synod"): it runs a node
// under a process supervisor, starts a local demo cluster, and renders the
// supervision log.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "synod:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "synod",
		Short:         "synod: Paxos leader election for a cluster of nodes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(runCommand(), demoCommand(), logsCommand(), execCommand(), statusCommand())
	root.AddCommand(versionCommand())
	return root
}
