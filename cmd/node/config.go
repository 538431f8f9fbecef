package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/synod/synod/remote"
)

// nodeConfig is one node's settings after the file, the environment and
// the flags have been merged and parsed. Zero durations mean "the default
// of actors.DefaultConfig".
type nodeConfig struct {
	Cluster string
	ID      remote.NodeID
	// Listen is the host:port the transport binds; Address is this node's
	// address as the others reach it (its entry in members). They differ
	// when listen names a bind address such as 0.0.0.0:7000; without
	// members, Address is Listen.
	Listen, Address string
	// Peers are the other nodes; empty only with SingleNode.
	Peers           map[remote.NodeID]string
	fromMembers     bool // Peers and Address came from the member list
	SingleNode      bool
	DataDir         string
	Admin           string // empty: no admin server
	TLSCert         string
	TLSKey          string
	TLSCA           string
	Insecure        bool
	Heartbeat       time.Duration
	ElectionTimeout time.Duration
	Lease           time.Duration
	leaseSet        bool // Lease was given, even as 0
	Preset          string
}

// Setting names: the flag, the YAML key and (upper-cased, "-" → "_", with
// the SYNOD_ prefix) the environment variable. "member" and "peer" are
// lists; in the environment (SYNOD_MEMBERS, SYNOD_PEERS) their items are
// separated by commas, and in a file they may be spelt "members" and
// "peers".
var settingNames = []string{
	"cluster", "id", "id-from-hostname", "member", "listen", "peer", "single-node", "data-dir", "admin",
	"tls-cert", "tls-key", "tls-ca", "insecure", "heartbeat", "election-timeout", "lease", "preset",
}

// listEnv names the environment variables of the list settings.
var listEnv = map[string]string{"member": "SYNOD_MEMBERS", "peer": "SYNOD_PEERS"}

// fileAlias maps the plural spellings a file may use to the setting.
var fileAlias = map[string]string{"members": "member", "peers": "peer"}

// layer holds raw setting values from one source; a missing key means the
// source does not set it.
type layer map[string][]string

// defaultLayer holds the defaults that are not actors.DefaultConfig's.
var defaultLayer = layer{"cluster": {"synod"}}

// fileLayer reads a YAML file whose keys are the setting names ("members"
// and "peers" may stand for "member" and "peer"). Unknown keys are errors,
// so that a typo does not silently fall back to a default.
func fileLayer(path string) (layer, error) {
	f, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return f.values, nil
}

// configFile is a config file as read: its settings and the line each
// was set on, so that an error about a setting can point at its line.
type configFile struct {
	path   string
	values layer
	lines  map[string]int
}

// listSettings may hold several values; every other setting holds one.
var listSettings = map[string]bool{"member": true, "peer": true}

// readConfigFile reads and checks the shape of a config file: a mapping of
// known setting names to a value, or for a list setting a list of values. Each
// error names the file, the line and the key.
func readConfigFile(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		// yaml's own messages carry the line: "yaml: line 3: ...".
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	f := &configFile{path: path, values: layer{}, lines: map[string]int{}}
	if len(doc.Content) == 0 {
		return f, nil // empty: every setting comes from elsewhere
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config file %s: line %d: want a mapping of setting names to values", path, top.Line)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, node := top.Content[i], top.Content[i+1]
		key := k.Value
		at := func(format string, args ...any) error {
			return fmt.Errorf("config file %s: line %d: %s: %s", path, k.Line, key, fmt.Sprintf(format, args...))
		}
		name := key
		if alias, ok := fileAlias[key]; ok {
			name = alias
		}
		if !isSetting(name) {
			return nil, at("unknown setting (known: %s)", strings.Join(settingNames, ", "))
		}
		if line, dup := f.lines[name]; dup {
			return nil, at("also set on line %d", line)
		}
		f.lines[name] = k.Line
		switch {
		case node.Kind == yaml.ScalarNode:
			f.values[name] = []string{node.Value}
		case node.Kind == yaml.SequenceNode && listSettings[name]:
			for _, item := range node.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, at("want a list of id=host:port strings (line %d)", item.Line)
				}
				f.values[name] = append(f.values[name], item.Value)
			}
		case node.Kind == yaml.SequenceNode:
			return nil, at("want a single value, not a list")
		case listSettings[name]:
			return nil, at("want a list of id=host:port strings")
		default:
			return nil, at("want a single value, not a mapping")
		}
	}
	return f, nil
}

// locate adds the file and line to err when err is about a setting whose
// value came from this file (and was not overridden by a later layer).
func (f *configFile) locate(err error, later ...layer) error {
	var se *settingError
	if f == nil || !errors.As(err, &se) {
		return err
	}
	for _, key := range se.keys() {
		line, ok := f.lines[key]
		if !ok {
			continue
		}
		for _, l := range later {
			if _, set := l[key]; set {
				return err // the bad value came from the environment or a flag
			}
		}
		return fmt.Errorf("config file %s: line %d: %s: %s", f.path, line, se.name, se.msg)
	}
	return err
}

// settingError is a bad setting: name is the setting (or settings) it is
// about, as the user spells it; about lists the keys whose source may be
// to blame when name names several.
type settingError struct {
	name, msg string
	about     []string
}

func (e *settingError) Error() string { return "config: " + e.name + ": " + e.msg }

func (e *settingError) keys() []string {
	if e.about != nil {
		return e.about
	}
	return []string{e.name}
}

// badSetting returns a settingError about name.
func badSetting(name, format string, args ...any) error {
	return &settingError{name: name, msg: fmt.Sprintf(format, args...)}
}

func isSetting(name string) bool {
	for _, n := range settingNames {
		if n == name {
			return true
		}
	}
	return false
}

// envLayer reads SYNOD_* variables through getenv.
func envLayer(getenv func(string) string) layer {
	l := layer{}
	for _, name := range settingNames {
		key, list := listEnv[name]
		if !list {
			key = "SYNOD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		}
		v := getenv(key)
		if v == "" {
			continue
		}
		if list {
			l[name] = strings.Split(v, ",")
		} else {
			l[name] = []string{v}
		}
	}
	return l
}

// merge returns, for each setting, the value of the last layer that sets
// it: pass layers from the lowest precedence to the highest.
func merge(layers ...layer) layer {
	out := layer{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

// parseConfig turns merged raw settings into a nodeConfig, taking the
// host name (for id-from-hostname) from the system. Every error names the
// setting and the reason.
func parseConfig(l layer) (nodeConfig, error) { return parseConfigWith(l, os.Hostname) }

// parseConfigWith is parseConfig with the host name from hostname, which
// is called only when id-from-hostname is set.
func parseConfigWith(l layer, hostname func() (string, error)) (nodeConfig, error) {
	bad := badSetting
	one := func(name string) string {
		if v := l[name]; len(v) > 0 {
			return strings.TrimSpace(v[len(v)-1])
		}
		return ""
	}
	c := nodeConfig{
		Cluster: one("cluster"), Listen: one("listen"), DataDir: one("data-dir"), Admin: one("admin"),
		TLSCert: one("tls-cert"), TLSKey: one("tls-key"), TLSCA: one("tls-ca"), Preset: one("preset"),
		Peers: map[remote.NodeID]string{},
	}
	if c.Cluster == "" {
		return c, bad("cluster", "missing")
	}
	bools := map[string]*bool{"insecure": &c.Insecure, "single-node": &c.SingleNode}
	fromHostname := false
	bools["id-from-hostname"] = &fromHostname
	for _, name := range []string{"id-from-hostname", "single-node", "insecure"} {
		if v := one(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return c, bad(name, "%q is not true or false", v)
			}
			*bools[name] = b
		}
	}
	var err error
	if c.ID, err = parseID(one("id"), fromHostname, hostname); err != nil {
		return c, err
	}
	if err := c.parseMembership(l["member"], l["peer"]); err != nil {
		return c, err
	}
	if c.Listen == "" {
		return c, bad("listen", "missing (or list this node among members)")
	}
	if err := checkHostPort(c.Listen); err != nil {
		return c, bad("listen", "%v", err)
	}
	if c.Address == "" {
		c.Address = c.Listen
	}
	if c.DataDir == "" {
		return c, bad("data-dir", "missing: give --data-dir DIR, SYNOD_DATA_DIR or data-dir: in the config (it has no default)")
	}
	if c.Admin != "" {
		if err := checkHostPort(c.Admin); err != nil {
			return c, bad("admin", "%v", err)
		}
		if strings.HasPrefix(c.Admin, ":") { // loopback unless a host is named
			c.Admin = "127.0.0.1" + c.Admin
		}
	}
	for name, d := range map[string]*time.Duration{"heartbeat": &c.Heartbeat, "election-timeout": &c.ElectionTimeout, "lease": &c.Lease} {
		v := one(name)
		if v == "" {
			continue
		}
		if *d, err = time.ParseDuration(v); err != nil {
			return c, bad(name, "%q is not a duration (like 50ms or 1s)", v)
		}
		if *d < 0 || (*d == 0 && name != "lease") {
			return c, bad(name, "%v must be positive", *d)
		}
		c.leaseSet = c.leaseSet || name == "lease"
	}
	return c, c.check()
}
