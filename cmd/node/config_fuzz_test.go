package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile: whatever a config file holds, loading it gives either a
// config that the actors package accepts or one error, on one line, that
// names the file; it never panics (yaml.v3 parses untrusted text, and our
// own checks index into what it returns).
func FuzzConfigFile(f *testing.F) {
	for _, seed := range []string{
		configYAML,
		yamlWith("heartbeat: fast"),
		yamlWith("peers: [{a: b}]"),
		yamlWith("peer: 4=127.0.0.1:7004"),
		yamlWith("id: [1, 2]"),
		yamlWith("peers: []", "members: [1=127.0.0.1:7001, 2=127.0.0.1:7002, 3=127.0.0.1:7003]"),
		yamlWith("-id", "-listen", "peers: []", "id-from-hostname: true", "members: [1=n1:7001, 2=n2:7002, 3=n3:7002]", "listen: 0.0.0.0:7001"),
		yamlWith("peers: []", "single-node: true"),
		"- 1\n- 2\n",
		"a: &x [*x]\n",
		"cluster: c\ncluster: d\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "node.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := readConfigFile(path)
		if err != nil {
			if msg := err.Error(); !strings.Contains(msg, path) {
				t.Fatalf("file error %q does not name the file", msg)
			}
			return
		}
		c, err := parseConfigWith(merge(defaultLayer, file.values), func() (string, error) { return "synod-1", nil })
		if err != nil {
			if msg := file.locate(err).Error(); strings.Contains(msg, "\n") {
				t.Fatalf("error on more than one line: %q", msg)
			}
			return
		}
		if c.ID == 0 || c.Listen == "" {
			return // incomplete: run refuses it later, naming the missing setting
		}
		if err := c.actorsConfig().Validate(); err != nil {
			t.Fatalf("a config the loader accepted fails actors.Config.Validate: %v\n%s", err, data)
		}
	})
}
