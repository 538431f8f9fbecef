package main

import (
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// presetFastFailover names actors.FastFailover.
const presetFastFailover = "fast-failover"

// check validates what needs several settings at once. Its errors name
// the settings as the user spells them; the library's own validation,
// which names Go fields, runs last and should then find nothing.
func (c nodeConfig) check() error {
	tlsFiles := map[string]string{"tls-cert": c.TLSCert, "tls-key": c.TLSKey, "tls-ca": c.TLSCA}
	tls := []string{}
	for _, name := range []string{"tls-cert", "tls-key", "tls-ca"} {
		if tlsFiles[name] != "" {
			tls = append(tls, name)
		}
	}
	switch {
	case len(tls) != 0 && len(tls) != 3:
		return &settingError{name: "tls-cert, tls-key, tls-ca", msg: fmt.Sprintf("give all three or none (got only %s)", strings.Join(tls, ", ")), about: tls}
	case len(tls) == 3 && c.Insecure:
		return badSetting("insecure", "set together with TLS files")
	case c.Preset != "" && c.Preset != presetFastFailover:
		return badSetting("preset", "unknown preset %q (known: %s)", c.Preset, presetFastFailover)
	case c.Preset == presetFastFailover && c.leaseSet && c.Lease != 0:
		return badSetting("lease", "%v conflicts with preset %s, which turns leases off", c.Lease, presetFastFailover)
	case c.Admin != "" && c.Admin == c.Listen:
		return badSetting("admin", "same address as listen (%s)", c.Listen)
	}
	for _, name := range tls {
		if _, err := os.Stat(tlsFiles[name]); err != nil {
			return badSetting(name, "%v", err)
		}
	}
	list := "peer"
	if c.fromMembers {
		list = "member"
	}
	byAddr := map[string]remote.NodeID{c.Address: c.ID}
	for _, id := range slices.Sorted(maps.Keys(c.Peers)) {
		addr := c.Peers[id]
		// A member on this node's own member address shares it; a peer
		// (or a member) on the address this node binds takes it.
		other, dup := byAddr[addr]
		if addr == c.Listen && !(dup && c.fromMembers) {
			return badSetting(list, "node %d has this node's listen address %s", id, addr)
		}
		if dup {
			return badSetting(list, "nodes %d and %d share address %s", min(other, id), max(other, id), addr)
		}
		byAddr[addr] = id
	}
	if len(tls) == 0 && !c.Insecure {
		addrs := []string{c.Listen}
		for _, id := range slices.Sorted(maps.Keys(c.Peers)) {
			addrs = append(addrs, c.Peers[id])
		}
		for _, addr := range addrs {
			if !remote.IsLoopback(addr) {
				return badSetting("insecure", "%s is not a loopback address, and without tls-cert, tls-key and tls-ca the nodes would talk in plaintext: "+
					"give the TLS files (docs/operations.md, \"Certificates\"), or set insecure on a private, trusted network", addr)
			}
		}
	}
	a := c.actorsConfig()
	if len(tls) != 0 {
		// The files are loaded at start (startConfig); here they stand for
		// TLS, so that Validate does not ask for it.
		a.Insecure = true
	}
	switch {
	case a.ElectionTimeout <= a.HeartbeatInterval && c.ElectionTimeout > 0:
		return badSetting("election-timeout", "%v must exceed heartbeat (%v)", a.ElectionTimeout, a.HeartbeatInterval)
	case a.ElectionTimeout <= a.HeartbeatInterval:
		return badSetting("heartbeat", "%v must be below election-timeout (%v)", a.HeartbeatInterval, a.ElectionTimeout)
	case a.LeaseDuration > 0 && a.LeaseDuration <= a.HeartbeatInterval && c.leaseSet:
		return badSetting("lease", "%v must exceed heartbeat (%v), or be 0 for no leases", a.LeaseDuration, a.HeartbeatInterval)
	case a.LeaseDuration > 0 && a.LeaseDuration <= a.HeartbeatInterval:
		return badSetting("heartbeat", "%v must be below lease (%v)", a.HeartbeatInterval, a.LeaseDuration)
	case a.LeaseDuration > 0 && leaderLease(a) <= 2*a.HeartbeatInterval:
		// The leader counts its lease shortened by the clock drift it
		// allows (docs/design.md, "Leases"), and must renew it twice.
		setting := "heartbeat"
		if c.leaseSet {
			setting = "lease"
		}
		return badSetting(setting, "lease %v, less %g%% allowed clock drift, leaves the leader %v: that must exceed two heartbeats (%v); "+
			"raise lease or lower heartbeat", a.LeaseDuration, 100*a.MaxClockDrift, leaderLease(a).Round(100*time.Microsecond), 2*a.HeartbeatInterval)
	}
	// The library's own validation names its fields; wrap it so the user
	// still sees where it came from.
	if err := a.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// parsePeer parses "id=host:port".
func parsePeer(s string) (remote.NodeID, string, error) {
	idText, addr, ok := strings.Cut(strings.TrimSpace(s), "=")
	if !ok {
		return 0, "", fmt.Errorf("%q: want id=host:port", s)
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id == 0 {
		return 0, "", fmt.Errorf("%q: %q is not a node id (an integer above 0)", s, idText)
	}
	if err := checkHostPort(addr); err != nil {
		return 0, "", fmt.Errorf("%q: %v", s, err)
	}
	return remote.NodeID(id), addr, nil
}

func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("%q: bad port %q", s, port)
	}
	return nil
}

// actorsConfig maps c onto actors.Config, all but the TLS files, which
// startConfig loads; the caller sets SupervisionLog and Logger.
func (c nodeConfig) actorsConfig() actors.Config {
	cfg := actors.DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Address, cfg.Peers, cfg.DataDir = c.Cluster, c.ID, c.Address, c.Peers, c.DataDir
	cfg.Listen, cfg.Insecure = c.Listen, c.Insecure
	if c.Preset == presetFastFailover {
		cfg = actors.FastFailover(cfg)
	}
	if c.Heartbeat > 0 {
		cfg.HeartbeatInterval = c.Heartbeat
	}
	if c.ElectionTimeout > 0 {
		cfg.ElectionTimeout = c.ElectionTimeout
	}
	if c.leaseSet {
		cfg.LeaseDuration = c.Lease
	}
	return cfg
}

// startConfig is actorsConfig with the TLS files loaded, checked as the
// node will start with it.
func (c nodeConfig) startConfig() (actors.Config, error) {
	cfg := c.actorsConfig()
	if c.TLSCert != "" {
		t, err := remote.LoadTLS(c.TLSCert, c.TLSKey, c.TLSCA)
		if err != nil {
			return cfg, fmt.Errorf("config: tls: %w", err)
		}
		cfg.TLS = t
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// leaderLease is the lease the leader counts with a's timings
// (watch.Config.LeaderLease).
func leaderLease(a actors.Config) time.Duration {
	return watch.Config{LeaseDuration: a.LeaseDuration, MaxClockDrift: a.MaxClockDrift}.LeaderLease()
}

// addConfigFlags declares the node's settings as flags on fs.
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML config file (keys are the flag names)")
	fs.String("cluster", "", `cluster name (default "synod")`)
	fs.String("id", "", "this node's id, an integer above 0")
	fs.String("id-from-hostname", "", "take the id from the host name's ordinal: synod-0 is node 1 (true/false)")
	fs.Lookup("id-from-hostname").NoOptDefVal = "true"
	fs.StringArray("member", nil, "a node of the cluster, this one included, as id=host:port (repeatable)")
	fs.String("listen", "", "host:port the node's transport listens on (default: its member address)")
	fs.StringArray("peer", nil, "another node as id=host:port (repeatable; the older form of member)")
	fs.String("single-node", "", "run a cluster of this node alone, with no peers (true/false)")
	fs.Lookup("single-node").NoOptDefVal = "true"
	fs.String("data-dir", "", "directory of the node's state and supervision.log")
	fs.String("admin", "", "host:port of the admin HTTP server (none if empty; \":port\" is loopback)")
	fs.String("tls-cert", "", "PEM certificate of this node (mutual TLS)")
	fs.String("tls-key", "", "PEM private key of this node")
	fs.String("tls-ca", "", "PEM certificate of the cluster CA")
	fs.String("insecure", "", "allow plaintext on non-loopback addresses (true/false)")
	fs.Lookup("insecure").NoOptDefVal = "true"
	fs.String("heartbeat", "", "heartbeat interval (default 50ms)")
	fs.String("election-timeout", "", "election timeout (default 300ms)")
	fs.String("lease", "", "leader lease, 0 for none (default 300ms)")
	fs.String("preset", "", "timing preset: fast-failover")
}

// flagLayer holds the flags that were given on the command line.
func flagLayer(fs *pflag.FlagSet) layer {
	l := layer{}
	for _, name := range settingNames {
		f := fs.Lookup(name)
		if f == nil || !f.Changed {
			continue
		}
		if listSettings[name] {
			l[name], _ = fs.GetStringArray(name)
		} else {
			l[name] = []string{f.Value.String()}
		}
	}
	return l
}

// loadConfig merges defaults < file < environment < flags. An error about
// a setting whose value came from the file names the file and its line.
func loadConfig(fs *pflag.FlagSet) (nodeConfig, error) {
	layers := []layer{defaultLayer}
	var file *configFile
	if path, _ := fs.GetString("config"); path != "" {
		var err error
		if file, err = readConfigFile(path); err != nil {
			return nodeConfig{}, err
		}
		layers = append(layers, file.values)
	}
	env, flags := envLayer(os.Getenv), flagLayer(fs)
	c, err := parseConfig(merge(append(layers, env, flags)...))
	if err != nil {
		return c, file.locate(err, env, flags)
	}
	return c, nil
}
