package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/synod/synod/bench/harness/driver"
	"github.com/synod/synod/bench/harness/result"
)

// campaignJava is the Curator campaigner, compiled at run time against
// the packaged jars.
//
//go:embed Campaign.java
var campaignJava []byte

// javaLib is where Debian installs jars; their manifests name the jars
// they need, so one jar on the class path brings its dependencies.
var javaLib = "/usr/share/java"

// The jars used: the server, the recipes (which bring the framework, the
// client and ZooKeeper's client), and a logging binding that writes to
// stderr (the process's log file).
func zookeeperJar() string   { return filepath.Join(javaLib, "zookeeper.jar") }
func curatorJar() string     { return filepath.Join(javaLib, "curator-recipes.jar") }
func slf4jSimpleJar() string { return filepath.Join(javaLib, "slf4j-simple.jar") }

// Debian's zoo.cfg (and ZooKeeper's sample) timings: a tick of 2 s, so
// sessions of 4–40 s (2 to 20 ticks).
const (
	zkTickDefault = 2 * time.Second
	zkInitLimit   = 10
	zkSyncLimit   = 5
)

// curatorSystem is Curator's LeaderSelector on a 3-member ZooKeeper
// ensemble configured as Debian ships it.
func curatorSystem() *system {
	s := &system{name: result.Curator}
	var classes string
	s.check = func() error {
		for _, tool := range []string{"java", "javac"} {
			if _, err := exec.LookPath(tool); err != nil {
				return fmt.Errorf("no %s on PATH (Debian: default-jdk-headless; bench/elections/install.sh installs it): %w", tool, err)
			}
		}
		for _, jar := range []string{zookeeperJar(), curatorJar(), slf4jSimpleJar()} {
			if _, err := os.Stat(jar); err != nil {
				return fmt.Errorf("%s is missing (Debian: zookeeper and libcurator-recipes-java; bench/elections/install.sh installs them)", jar)
			}
		}
		return nil
	}
	s.versions = func() map[string]string {
		v := map[string]string{
			"zookeeper": orUnknown(debianVersion("zookeeper")),
			"curator":   orUnknown(debianVersion("libcurator-recipes-java")),
		}
		if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
			line, _, _ := strings.Cut(string(out), "\n")
			v["java"] = strings.TrimSpace(line)
		}
		return v
	}
	s.prepare = func(ctx context.Context, work string) error {
		src := filepath.Join(work, "src")
		classes = filepath.Join(work, "classes")
		for _, d := range []string{src, classes} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
		}
		file := filepath.Join(src, "Campaign.java")
		if err := os.WriteFile(file, campaignJava, 0o644); err != nil {
			return err
		}
		say("%s: compiling Campaign.java against %s", s.name, curatorJar())
		cmd := exec.CommandContext(ctx, "javac", "-cp", curatorJar(), "-d", classes, file)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("javac Campaign.java: %w\n%s", err, out)
		}
		return nil
	}
	s.start = func(ctx context.Context, dir, logDir string, p profile) (ensemble, error) {
		return startZooKeeper(dir, logDir, p, classes)
	}
	s.note = func(p profile) string {
		setup := fmt.Sprintf("ZooKeeper, 3 members with Debian's zoo.cfg timings (tickTime %v, initLimit %d, syncLimit %d); "+
			"Curator's default session (60 s asked, at most 20 ticks granted)", zkTickDefault, zkInitLimit, zkSyncLimit)
		if p.session != 0 {
			setup = fmt.Sprintf("ZooKeeper, 3 members with tickTime %v (so that a %v session is allowed: at least 2 ticks); "+
				"Curator session %v", zkTick(p), p.session, p.session)
		}
		return setup + "; crash: the leading campaigner's JVM SIGKILLed, its session must expire; " +
			"graceful: SIGTERM, the JVM's shutdown hook closes the LeaderSelector and the client (ending the session); " +
			"first act: a write of a znode"
	}
	return s
}

// zkTick is the ensemble's tickTime for p: Debian's 2 s, or short enough
// that p's session is allowed (ZooKeeper grants 2 to 20 ticks).
func zkTick(p profile) time.Duration {
	if p.session == 0 || p.session >= 2*zkTickDefault {
		return zkTickDefault
	}
	return p.session / 2
}

// zkEnsemble is three ZooKeeper servers on loopback.
type zkEnsemble struct {
	connect string // host:port,… of every member
	classes string // the compiled campaigner
	session time.Duration
	members []*driver.Proc
}

func startZooKeeper(dir, logDir string, p profile, classes string) (ensemble, error) {
	if classes == "" {
		return nil, errors.New("curator: the campaigner was not compiled")
	}
	ports, err := freePorts(3 * ensembleSize)
	if err != nil {
		return nil, err
	}
	var servers, clients []string
	for i := range ensembleSize {
		servers = append(servers, fmt.Sprintf("server.%d=127.0.0.1:%d:%d", i+1, ports[3*i+1], ports[3*i+2]))
		clients = append(clients, fmt.Sprintf("127.0.0.1:%d", ports[3*i]))
	}
	z := &zkEnsemble{connect: strings.Join(clients, ","), classes: classes, session: p.session}
	for i := range ensembleSize {
		name := fmt.Sprintf("zk%d", i+1)
		data := filepath.Join(dir, name)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(i+1)+"\n"), 0o644); err != nil {
			return nil, err
		}
		cfg := fmt.Sprintf("tickTime=%d\ninitLimit=%d\nsyncLimit=%d\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n%s\n",
			zkTick(p).Milliseconds(), zkInitLimit, zkSyncLimit, data, ports[3*i], strings.Join(servers, "\n"))
		cfgPath := filepath.Join(data, "zoo.cfg")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		args := []string{"-cp", zookeeperJar() + ":" + slf4jSimpleJar(),
			"-Dzookeeper.admin.enableServer=false", "-Dzookeeper.jmx.log4j.disable=true",
			"-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.showDateTime=true",
			"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath}
		m, err := children.Start("zookeeper "+name, "java", args, filepath.Join(logDir, "zookeeper-"+name+".log"), nil)
		if err != nil {
			z.close()
			return nil, err
		}
		z.members = append(z.members, m)
	}
	return z, nil
}

func (z *zkEnsemble) campaigner(id string) (string, []string) {
	return "java", []string{"-cp", z.classes + ":" + curatorJar() + ":" + slf4jSimpleJar(),
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-Dorg.slf4j.simpleLogger.showDateTime=true",
		"Campaign", id, z.connect, strconv.Itoa(int(z.session.Milliseconds()))}
}

func (z *zkEnsemble) close() {
	for _, m := range z.members {
		m.Stop(10 * time.Second)
	}
}

// orUnknown is v, or "unknown (not from Debian's packages)".
func orUnknown(v string) string {
	if v == "" {
		return "unknown (not from Debian's packages)"
	}
	return v + " (Debian)"
}
