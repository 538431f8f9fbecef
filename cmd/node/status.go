package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// statusTimeout bounds each node's answer to synod status.
const statusTimeout = 2 * time.Second

func statusCommand() *cobra.Command {
	var (
		admins, configs []string
		asJSON          bool
		timeout         time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every node's term, leader, lease, peers and restarts, from their admin endpoints",
		Long: `Query the admin endpoint (GET /status) of each node and print one row per node.

Nodes are named by --admin host:port (repeatable), or by --config files
(repeatable), each contributing its "admin" address. With neither, SYNOD_ADMIN
names the one node to ask. A node that does not answer gets a row saying so;
a node that knows no leader says why in the NOTE column.

synod status exits non-zero when a node did not answer, or when no node
that answered knows a leader; a script can use it as a health check.

--json prints the nodes' /status objects as one JSON array instead; a node
that did not answer appears as {"admin": ..., "error": ...}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addrs, err := statusTargets(admins, configs, os.Getenv("SYNOD_ADMIN"))
			if err != nil {
				return err
			}
			results := queryStatuses(cmd.Context(), http.DefaultClient, addrs, timeout)
			out := cmd.OutOrStdout()
			if asJSON {
				err = printStatusJSON(out, results)
			} else {
				err = printStatusTable(out, results)
			}
			if err != nil {
				return err
			}
			return statusVerdict(results)
		},
	}
	cmd.Flags().StringArrayVar(&admins, "admin", nil, "a node's admin address host:port (repeatable)")
	cmd.Flags().StringArrayVar(&configs, "config", nil, "a node's YAML config file, for its admin address (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the nodes' /status as a JSON array")
	cmd.Flags().DurationVar(&timeout, "timeout", statusTimeout, "how long to wait for each node")
	return cmd
}

// statusTargets lists the admin addresses to ask, in the order given:
// the --admin flags, then each config file's admin setting; with neither,
// env (SYNOD_ADMIN).
func statusTargets(admins, configs []string, env string) ([]string, error) {
	addrs := append([]string(nil), admins...)
	for _, path := range configs {
		l, err := fileLayer(path)
		if err != nil {
			return nil, err
		}
		a := ""
		if v := l["admin"]; len(v) > 0 {
			a = strings.TrimSpace(v[len(v)-1])
		}
		if a == "" {
			return nil, fmt.Errorf("status: config file %s sets no admin address", path)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 && env != "" {
		addrs = append(addrs, env)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("status: no node to ask: give --admin host:port or --config file")
	}
	for i, a := range addrs {
		if err := checkHostPort(a); err != nil {
			return nil, fmt.Errorf("status: admin: %v", err)
		}
		if strings.HasPrefix(a, ":") { // loopback unless a host is named, as in run
			addrs[i] = "127.0.0.1" + a
		}
	}
	return addrs, nil
}

// statusResult is one node's answer: its /status, raw and decoded, or why
// there is none.
type statusResult struct {
	Admin  string
	Raw    json.RawMessage
	Status status
	Err    error
}

// queryStatuses asks every address at once and returns the answers in the
// order of addrs.
func queryStatuses(ctx context.Context, client *http.Client, addrs []string, timeout time.Duration) []statusResult {
	if ctx == nil {
		ctx = context.Background()
	}
	results := make([]statusResult, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { results[i] = queryStatus(ctx, client, a, timeout) })
	}
	wg.Wait()
	return results
}

func queryStatus(ctx context.Context, client *http.Client, addr string, timeout time.Duration) statusResult {
	r := statusResult{Admin: addr}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/status", nil)
	if err != nil {
		r.Err = err
		return r
	}
	resp, err := client.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err != nil:
		r.Err = fmt.Errorf("read /status: %w", err)
	case resp.StatusCode != http.StatusOK:
		r.Err = fmt.Errorf("/status: %s", resp.Status)
	default:
		if err := json.Unmarshal(body, &r.Status); err != nil {
			r.Err = fmt.Errorf("/status: %w", err)
		} else {
			r.Raw = body
		}
	}
	return r
}

func unreachable(results []statusResult) int {
	n := 0
	for _, r := range results {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// statusVerdict is synod status's error: some node did not answer, or
// none of those that did knows a leader.
func statusVerdict(results []statusResult) error {
	if down := unreachable(results); down > 0 {
		return fmt.Errorf("status: %d of %d nodes did not answer", down, len(results))
	}
	leader := false
	for _, r := range results {
		if r.Status.Leader != 0 {
			leader = true
		}
	}
	if !leader {
		return fmt.Errorf("status: no node knows a leader")
	}
	for _, r := range results {
		if r.Status.Degraded != "" {
			return fmt.Errorf("status: node %d leads, but its %s", r.Status.Node, r.Status.Degraded)
		}
	}
	return nil
}

// statusColumns heads the table; an unreachable node's row fills each
// with "-", so that every row keeps the columns aligned. NOTE, last, is
// free text and may be as long as it needs.
const statusColumns = "NODE\tADMIN\tTERM\tLEADER\tIS_LEADER\tLEASE_MS\tLEASE_VOTERS\tPEERS_REACHABLE\tRESTARTS\tACTOR_RESTARTS\tNOTE"

// printStatusTable writes one row per node.
func printStatusTable(w io.Writer, results []statusResult) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, statusColumns)
	blank := strings.Repeat("-\t", strings.Count(statusColumns, "\t")-2)
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(tw, "?\t%s\t%sunreachable: %v\n", r.Admin, blank, r.Err)
			continue
		}
		s := r.Status
		leader := "-"
		if s.Leader != 0 {
			leader = s.Leader.String()
		}
		actorRestarts := "-"
		if s.ActorRestarts >= 0 {
			actorRestarts = strconv.FormatInt(s.ActorRestarts, 10)
		}
		voters := "-"
		if s.IsLeader {
			voters = fmt.Sprintf("%d/%d", s.LeaseVoters, len(s.Members))
		}
		note := s.NotReady
		if s.Degraded != "" {
			note = "DEGRADED: " + s.Degraded
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%t\t%d\t%s\t%s\t%d\t%s\t%s\n", s.Node, r.Admin, s.Term, leader, s.IsLeader,
			s.LeaseRemainingMS, voters, peersReachable(s.Members), s.Restarts, actorRestarts, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Rows with an empty NOTE end in the padding of the column before it.
	for line := range strings.Lines(buf.String()) {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

// peersReachable renders "reachable/total" over the members but self.
func peersReachable(members []memberStatus) string {
	up, all := 0, 0
	for _, m := range members {
		if m.Self {
			continue
		}
		all++
		if m.Reachable {
			up++
		}
	}
	return fmt.Sprintf("%d/%d", up, all)
}

// printStatusJSON writes the nodes' /status objects, unchanged, as one
// JSON array.
func printStatusJSON(w io.Writer, results []statusResult) error {
	out := make([]json.RawMessage, 0, len(results))
	for _, r := range results {
		if r.Err != nil {
			b, err := json.Marshal(map[string]string{"admin": r.Admin, "error": r.Err.Error()})
			if err != nil {
				return err
			}
			out = append(out, b)
			continue
		}
		out = append(out, r.Raw)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
