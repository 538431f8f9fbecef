// Package localproc holds what the demo, the benchmark harness and the
// process tests all need to start synod processes on one machine: free
// loopback ports, and an environment that does not override their flags.
package localproc

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// FreePorts returns n distinct free 127.0.0.1 ports as host:port. They are
// released before use, so another program could take one meanwhile; on a
// test or demo machine that is unlikely.
func FreePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// EnvWithoutSynod is this process's environment without SYNOD_* settings,
// which would override the flags a child is started with.
func EnvWithoutSynod() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNOD_") {
			env = append(env, kv)
		}
	}
	return env
}
