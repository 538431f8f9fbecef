package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// workerRestartsEnv carries the supervisor's restart count to the worker,
// which reports it in /status.
const workerRestartsEnv = "SYNOD_WORKER_RESTARTS"

func runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a node, supervised: a small process that restarts the node process if it dies",
		Long: `Run a node. By default synod runs as a supervisor that starts the node as a
child process ("the worker") and restarts it with exponential backoff whenever
it exits, crashes or is killed. SIGTERM or SIGINT to the supervisor stops the
worker gracefully (it resigns and hands leadership off) and exits 0.

A worker that cannot start exits 3 when its data dir is damaged, another
node's or not writable (the supervisor then stops at once), and 4 for any
other start failure, such as a port in use or a data dir locked by another
process (the supervisor retries, and stops after 5 such failures in a row
with the same error). The supervisor exits with the same status.

With --no-supervise the node runs in this process, for systemd or Kubernetes.

Every node of a cluster can share one config file: "members" lists every
node, this one included, and --id (or SYNOD_ID, or --id-from-hostname in a
StatefulSet) picks this one. A node with no other members refuses to start
unless --single-node is set.

Settings come from flags, then SYNOD_* environment variables (SYNOD_CLUSTER,
SYNOD_ID, SYNOD_ID_FROM_HOSTNAME, SYNOD_MEMBERS=1=h:p,2=h:p,3=h:p,
SYNOD_LISTEN, SYNOD_PEERS=2=h:p,3=h:p, SYNOD_SINGLE_NODE, SYNOD_DATA_DIR,
SYNOD_ADMIN, SYNOD_TLS_CERT, SYNOD_TLS_KEY, SYNOD_TLS_CA, SYNOD_INSECURE,
SYNOD_HEARTBEAT, SYNOD_ELECTION_TIMEOUT, SYNOD_LEASE, SYNOD_PRESET), then the
--config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nc, err := loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			if check, _ := cmd.Flags().GetBool("check"); check {
				if _, err := nc.startConfig(); err != nil {
					return err
				}
				printConfig(cmd.OutOrStdout(), nc)
				return nil
			}
			if noSup, _ := cmd.Flags().GetBool("no-supervise"); noSup {
				return runWorker(nc)
			}
			return supervise(nc)
		},
	}
	addConfigFlags(cmd.Flags())
	cmd.Flags().Bool("no-supervise", false, "run the node in this process, without a supervisor")
	cmd.Flags().Bool("check", false, "check the settings, print what this node would run with, and exit")
	return cmd
}

// warnings lists what the settings allow but docs/operations.md ("The
// rules") advises against, for --check and the worker's log.
func (nc nodeConfig) warnings() []string {
	cfg, err := nc.startConfig() // the timings in effect, defaults filled in
	if err != nil {
		return nil // the start refuses it, and says why
	}
	var out []string
	if cfg.LeaseDuration > cfg.ElectionTimeout {
		out = append(out, fmt.Sprintf("lease (%v) exceeds election timeout (%v): a follower that stands while the acceptors' leases run is refused and waits another election timeout, so a silent leader is replaced later than the timeout says", cfg.LeaseDuration, cfg.ElectionTimeout))
	}
	return out
}

// printConfig shows what a node resolved from its settings, for --check:
// with one file for every node, which entry is this node, and where it
// listens, are what a reader wants confirmed.
func printConfig(w io.Writer, nc nodeConfig) {
	fmt.Fprintf(w, "node %d of cluster %q: settings ok\n", nc.ID, nc.Cluster)
	listen := nc.Listen
	if nc.Address != nc.Listen {
		listen += " (the others reach it at " + nc.Address + ")"
	}
	peers := "none (single-node)"
	if len(nc.Peers) > 0 {
		var list []string
		for _, id := range slices.Sorted(maps.Keys(nc.Peers)) {
			list = append(list, fmt.Sprintf("%d=%s", id, nc.Peers[id]))
		}
		peers = strings.Join(list, ", ")
	}
	admin := nc.Admin
	if admin == "" {
		admin = "none"
	}
	tls := "mutual TLS"
	switch {
	case nc.TLSCert == "" && nc.Insecure:
		tls = "plaintext (insecure)"
	case nc.TLSCert == "":
		tls = "plaintext on loopback"
	}
	for _, row := range [][2]string{{"listen", listen}, {"peers", peers}, {"admin", admin}, {"data-dir", nc.DataDir}, {"transport", tls}} {
		fmt.Fprintf(w, "  %-9s %s\n", row[0], row[1])
	}
	for _, warning := range nc.warnings() {
		fmt.Fprintf(w, "  %-9s %s\n", "warning", warning)
	}
}
