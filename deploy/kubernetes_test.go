package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const manifestFile = "kubernetes/statefulset.yaml"

// manifests are the objects of statefulset.yaml, one of each kind.
type manifests struct {
	service     *corev1.Service
	configMap   *corev1.ConfigMap
	statefulSet *appsv1.StatefulSet
	pdb         *policyv1.PodDisruptionBudget
}

// decodeManifests decodes every document of path into its k8s.io/api
// type, strictly: an unknown or misplaced field, a duplicate key, an
// unknown kind or a missing object fails, as kubectl apply
// --validate=strict would.
func decodeManifests(path string) (manifests, error) {
	var m manifests
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	for i, doc := range bytes.Split(data, []byte("\n---\n")) {
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return m, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(js, &tm); err != nil {
			return m, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
		var obj any
		switch kind := tm.APIVersion + " " + tm.Kind; kind {
		case "v1 Service":
			m.service = &corev1.Service{}
			obj = m.service
		case "v1 ConfigMap":
			m.configMap = &corev1.ConfigMap{}
			obj = m.configMap
		case "apps/v1 StatefulSet":
			m.statefulSet = &appsv1.StatefulSet{}
			obj = m.statefulSet
		case "policy/v1 PodDisruptionBudget":
			m.pdb = &policyv1.PodDisruptionBudget{}
			obj = m.pdb
		default:
			return m, fmt.Errorf("%s: document %d: unexpected %q", path, i+1, kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return m, fmt.Errorf("%s: document %d (%s): %w", path, i+1, tm.Kind, err)
		}
	}
	if m.service == nil || m.configMap == nil || m.statefulSet == nil || m.pdb == nil {
		return m, fmt.Errorf("%s: want a Service, a ConfigMap, a StatefulSet and a PodDisruptionBudget", path)
	}
	return m, nil
}

// TestDecodeIsStrict: the decoding above refuses a misspelt field and a
// duplicate key, so that the test below is not fooled by either.
func TestDecodeIsStrict(t *testing.T) {
	data, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ old, new, want string }{
		{"terminationGracePeriodSeconds", "terminationGracePeriodSecond", `unknown field "terminationGracePeriodSecond"`},
		{"  replicas: 3\n", "  replicas: 3\n  replicas: 5\n", `key "replicas" already set`},
	} {
		if !bytes.Contains(data, []byte(tc.old)) {
			t.Fatalf("%s no longer holds %q: update this test", manifestFile, tc.old)
		}
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, bytes.Replace(data, []byte(tc.old), []byte(tc.new), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := decodeManifests(path); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: err = %v, want %q", tc.old, tc.new, err, tc.want)
		}
	}
}

// TestStatefulSetFitsTheNode checks the wiring the node relies on.
func TestStatefulSetFitsTheNode(t *testing.T) {
	m, err := decodeManifests(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	svc, sts, pdb := m.service, m.statefulSet, m.pdb
	pod := sts.Spec.Template.Spec
	podLabels := labels.Set(sts.Spec.Template.Labels)

	// The selectors all pick the StatefulSet's pods.
	for what, sel := range map[string]*metav1.LabelSelector{
		"StatefulSet selector": sts.Spec.Selector, "PodDisruptionBudget selector": pdb.Spec.Selector,
	} {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil || s.Empty() || !s.Matches(podLabels) {
			t.Errorf("%s %v does not select the pods (labels %v): %v", what, sel, podLabels, err)
		}
	}
	if s := labels.SelectorFromSet(svc.Spec.Selector); len(svc.Spec.Selector) == 0 || !s.Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}

	// Peer names synod-N.synod resolve only through a headless Service
	// named as the StatefulSet's serviceName, published before readiness
	// (a node is ready once a leader is known, which needs its peers).
	if sts.Spec.ServiceName != svc.Name || svc.Spec.ClusterIP != corev1.ClusterIPNone || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("serviceName %q, Service %q with clusterIP %q, publishNotReadyAddresses %v: want a headless Service of that name publishing not-ready pods",
			sts.Spec.ServiceName, svc.Name, svc.Spec.ClusterIP, svc.Spec.PublishNotReadyAddresses)
	}

	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for _, p := range svc.Spec.Ports {
		if ports[p.Name] != p.Port {
			t.Errorf("Service port %s is %d, the container's %d", p.Name, p.Port, ports[p.Name])
		}
	}

	// No shell: the binary itself, with the id from the pod's host name.
	cmd := append(append([]string{}, c.Command...), c.Args...)
	if len(cmd) == 0 || cmd[0] != "/usr/local/bin/synod" {
		t.Fatalf("the container runs %v, want /usr/local/bin/synod itself (the image need have no shell)", cmd)
	}
	for _, want := range []string{"run", "--no-supervise", "--id-from-hostname"} {
		if !slices.Contains(cmd, want) {
			t.Errorf("command %v lacks %s", cmd, want)
		}
	}
	configPath := flagValue(cmd, "--config")
	key, ok := mountedConfigMapKey(pod, c, m.configMap.Name, configPath)
	if !ok {
		t.Fatalf("--config %q is not a key of ConfigMap %s mounted in the container", configPath, m.configMap.Name)
	}
	nodeYAML, ok := m.configMap.Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", m.configMap.Name, key)
	}
	var file struct {
		Members []string `json:"members"`
		ID      *string  `json:"id"`
		Listen  string   `json:"listen"`
		Admin   string   `json:"admin"`
		DataDir string   `json:"data-dir"`
	}
	if err := yaml.Unmarshal([]byte(nodeYAML), &file); err != nil {
		t.Fatalf("ConfigMap %s: %v", key, err)
	}
	if file.ID != nil {
		t.Errorf("the shared file sets id %s: every pod would be that node", *file.ID)
	}

	// replicas == members, and pod synod-N is member N+1 at synod-N.synod
	// on the peer port (idFromHostname in cmd/node: the ordinal plus one).
	if r := sts.Spec.Replicas; r == nil || int(*r) != len(file.Members) {
		t.Errorf("replicas %s, members %d: want one pod per member", deref(r), len(file.Members))
	}
	cfgPath := filepath.Join(t.TempDir(), key)
	if err := os.WriteFile(cfgPath, []byte(nodeYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	for ord := range len(file.Members) {
		id := ord + 1
		want := net.JoinHostPort(fmt.Sprintf("%s-%d.%s", sts.Name, ord, svc.Name), strconv.Itoa(int(ports["peer"])))
		out := checkNode(t, cfgPath, "--id", strconv.Itoa(id))
		if !strings.Contains(out, fmt.Sprintf("node %d of cluster", id)) || !strings.Contains(out, "the others reach it at "+want+")") {
			t.Errorf("pod %s-%d (node %d) should be the member at %s; synod run --check says:\n%s", sts.Name, ord, id, want, out)
		}
	}
	if _, port, _ := net.SplitHostPort(file.Listen); port != strconv.Itoa(int(ports["peer"])) {
		t.Errorf("listen %q is not on the container's peer port %d", file.Listen, ports["peer"])
	}
	if host, port, _ := net.SplitHostPort(file.Admin); port != strconv.Itoa(int(ports["admin"])) || host == "" || host == "127.0.0.1" {
		t.Errorf("admin %q: want all interfaces on the container's admin port %d, for the kubelet's probes", file.Admin, ports["admin"])
	}

	// Ready once a leader is known: /readyz on the admin port.
	for name, probe := range map[string]*corev1.Probe{"readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		path := map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"}[name]
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path ||
			(probe.HTTPGet.Port.StrVal != "admin" && probe.HTTPGet.Port.IntVal != ports["admin"]) {
			t.Errorf("%s %+v: want GET %s on the admin port", name, probe, path)
		}
	}

	// SIGTERM: the node resigns and hands off within closeTimeout.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < 2*closeTimeout(t) {
		t.Errorf("terminationGracePeriodSeconds %s: want at least twice the node's close timeout %v", deref(g), closeTimeout(t))
	}

	// The data dir is the pod's own volume, kept with its ordinal (and so
	// with its node id).
	if !mountsClaim(sts, c, file.DataDir) {
		t.Errorf("data-dir %s is not a volumeClaimTemplate mounted in the container", file.DataDir)
	}

	// At most one of three down by choice, and never two on one machine.
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, minAvailable %v: want maxUnavailable 1", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	if !antiAffine(pod, podLabels) {
		t.Errorf("no required pod anti-affinity on kubernetes.io/hostname against the pods' own labels: %+v", pod.Affinity)
	}
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod may run as root")
	}
}

// flagValue returns the value of --name=V or --name V in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// mountedConfigMapKey returns the key of ConfigMap cm that path names in
// container c, if a volume of cm is mounted over path's directory.
func mountedConfigMapKey(pod corev1.PodSpec, c corev1.Container, cm, path string) (string, bool) {
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil || v.ConfigMap.Name != cm {
			continue
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name && filepath.Dir(path) == filepath.Clean(vm.MountPath) {
				return filepath.Base(path), true
			}
		}
	}
	return "", false
}

// mountsClaim reports whether dir is the mount path of one of sts's
// volume claim templates in container c.
func mountsClaim(sts *appsv1.StatefulSet, c corev1.Container, dir string) bool {
	for _, pvc := range sts.Spec.VolumeClaimTemplates {
		for _, vm := range c.VolumeMounts {
			if vm.Name == pvc.Name && filepath.Clean(vm.MountPath) == filepath.Clean(dir) {
				return true
			}
		}
	}
	return false
}

// antiAffine reports whether pod may not be scheduled beside another pod
// with podLabels on one machine.
func antiAffine(pod corev1.PodSpec, podLabels labels.Set) bool {
	if pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil {
		return false
	}
	for _, term := range pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
		s, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
		if err == nil && !s.Empty() && s.Matches(podLabels) && term.TopologyKey == corev1.LabelHostname {
			return true
		}
	}
	return false
}

// deref renders an optional number for a message.
func deref[N int32 | int64](p *N) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}
