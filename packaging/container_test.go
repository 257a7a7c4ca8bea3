package packaging_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	name, from string
	body       []instruction
}

// dockerInstructions are the instructions of the Dockerfile reference.
var dockerInstructions = []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM",
	"HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// parseDockerfile splits a Dockerfile into stages, as the reference defines
// its syntax: # comments on their own line, a trailing backslash continues
// the line, every instruction is one of dockerInstructions and the first
// (after ARGs) is FROM. No Docker engine runs here to parse it for us.
func parseDockerfile(path string) ([]stage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var stages []stage
	var cur *instruction
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if cur == nil && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(l, " ")
			cur = &instruction{line: i + 1, cmd: strings.ToUpper(cmd)}
			l = args
		} else if l == "" || strings.HasPrefix(l, "#") {
			continue // blank and comment lines inside a continued instruction
		}
		if strings.HasSuffix(l, "\\") {
			cur.args += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		cur.args = strings.Join(strings.Fields(cur.args+l), " ")
		if !slices.Contains(dockerInstructions, cur.cmd) {
			return nil, fmt.Errorf("%s:%d: unknown instruction %q", path, cur.line, cur.cmd)
		}
		switch {
		case cur.cmd == "FROM":
			f := strings.Fields(cur.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			} else if len(f) != 1 {
				return nil, fmt.Errorf("%s:%d: FROM %q: want IMAGE [AS NAME]", path, cur.line, cur.args)
			}
			stages = append(stages, s)
		case len(stages) == 0 && cur.cmd != "ARG":
			return nil, fmt.Errorf("%s:%d: %s before the first FROM", path, cur.line, cur.cmd)
		case len(stages) > 0:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, *cur)
		}
		cur = nil
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: the file ends inside a continued line", path, cur.line)
	}
	return stages, nil
}

// find returns the stage's instructions of kind cmd.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// jsonArgs decodes an instruction's exec (JSON array) form.
func jsonArgs(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Fatalf("line %d: %s %s: not the JSON array form: %v", in.line, in.cmd, in.args, err)
	}
	return v
}

// TestDockerfile checks the image's recipe where no container engine can
// build it (podman here: no registry to pull the base images from, and
// crun may not set RLIMIT_NOFILE; packaging/README.md has the errors):
// multi-stage, the files it copies exist and are what the build stage
// makes, the daemon runs as the package's unprivileged user, the volumes,
// the health check on /api/status (which TestPackagedDaemonRuns queries on
// the packaged daemon) and an entry point the package ships.
func TestDockerfile(t *testing.T) {
	const path = "container/Dockerfile"
	stages, err := parseDockerfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a run stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if build.name == "" {
		t.Fatal("the build stage has no name for COPY --from")
	}

	// The build stage copies from the context: those files must exist,
	// and .dockerignore must keep build outputs out of it.
	for _, in := range build.find("COPY") {
		f := strings.Fields(in.args)
		for _, src := range f[:len(f)-1] {
			if _, err := os.Stat(filepath.Join(repo, src)); err != nil {
				t.Errorf("line %d: COPY %s: not in the source tree: %v", in.line, src, err)
			}
		}
	}
	ignore, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"bin", "dist", "var"} {
		if !slices.Contains(strings.Fields(string(ignore)), d) {
			t.Errorf(".dockerignore lets %s/ into the build context", d)
		}
	}
	// It makes the .deb with the make target the other tests run, into
	// the directory the run stage copies from.
	var makeRun string
	for _, in := range build.find("RUN") {
		if strings.Contains(in.args, "make packages") {
			makeRun = in.args
		}
	}
	if makeRun == "" || !strings.Contains(makeRun, "PKG_FORMATS=deb") || !strings.Contains(makeRun, "DIST=/dist") {
		t.Fatalf("the build stage does not run make packages PKG_FORMATS=deb DIST=/dist: %q", makeRun)
	}
	copied := false
	for _, in := range final.find("COPY") {
		if strings.HasPrefix(in.args, "--from=") {
			f := strings.Fields(in.args)
			from := strings.TrimPrefix(f[0], "--from=")
			if from != build.name {
				t.Errorf("line %d: COPY --from=%s: no such stage (the build stage is %q)", in.line, from, build.name)
			}
			if f[1] == "/dist/" {
				copied = true
			}
		}
	}
	if !copied {
		t.Error("the run stage does not COPY --from the build stage's /dist/")
	}
	// It installs the package by the name make packages gives it.
	dist, _ := buildPackages(t)
	deb, _ := buildDeb(t)
	installs := false
	for _, in := range final.find("RUN") {
		for _, w := range strings.Fields(in.args) {
			pattern, ok := strings.CutPrefix(w, "/tmp/wigo/")
			if !ok {
				continue
			}
			// The build stage makes its own architecture's deb only.
			if m, err := filepath.Match(pattern, filepath.Base(deb)); err == nil && m {
				if _, err := os.Stat(filepath.Join(dist, filepath.Base(deb))); err == nil {
					installs = true
				}
			}
		}
	}
	if !installs {
		t.Error("the run stage installs no /tmp/wigo/wigo_*.deb that make packages makes")
	}

	// Not root: the system user the package's postinst creates.
	users := final.find("USER")
	if len(users) == 0 {
		t.Fatal("no USER: the daemon would run as root")
	}
	user := users[len(users)-1].args
	if user == "root" || user == "0" || strings.HasPrefix(user, "0:") || strings.HasPrefix(user, "root:") {
		t.Errorf("USER %s: the daemon must not run as root", user)
	}
	postinst, err := os.ReadFile("debian/postinst")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(postinst), "adduser --system --group") || !strings.Contains(string(postinst), "--quiet "+user+"\n") {
		t.Errorf("USER %s is not the user debian/postinst creates", user)
	}

	var volumes []string
	for _, in := range final.find("VOLUME") {
		volumes = append(volumes, jsonArgs(t, in)...)
	}
	for _, v := range []string{"/etc/wigo", "/var/lib/wigo"} {
		if !slices.Contains(volumes, v) {
			t.Errorf("no VOLUME %s (volumes %q)", v, volumes)
		}
	}

	hc := final.find("HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("%d HEALTHCHECK instructions, want 1", len(hc))
	}
	_, cmd, ok := strings.Cut(hc[0].args, "CMD ")
	if !ok || !strings.Contains(cmd, "http://127.0.0.1:4000/api/status") {
		t.Errorf("HEALTHCHECK %q does not ask /api/status on the default port", hc[0].args)
	}

	// The entry point and its configuration are in the package.
	ep, cmds := final.find("ENTRYPOINT"), final.find("CMD")
	if len(ep) != 1 || len(cmds) != 1 {
		t.Fatalf("want one ENTRYPOINT and one CMD, got %d and %d", len(ep), len(cmds))
	}
	argv := append(jsonArgs(t, ep[0]), jsonArgs(t, cmds[0])...)
	files := contents(t, deb)
	if !slices.Equal(argv, []string{"/usr/bin/wigo", "-c", "/etc/wigo/wigo.hcl"}) {
		t.Errorf("the image runs %q", argv)
	}
	for _, f := range []string{argv[0], argv[2]} {
		if _, ok := files[f]; !ok {
			t.Errorf("the image runs %s, which the package does not ship", f)
		}
	}
}

// TestParseDockerfileErrors: the parser above must be able to fail, with the
// line of the mistake.
func TestParseDockerfileErrors(t *testing.T) {
	for src, want := range map[string]string{
		"FROM a AS b\nRUNN true\n":     ":2: unknown instruction \"RUNN\"",
		"RUN true\nFROM a\n":           ":1: RUN before the first FROM",
		"FROM a\nRUN true \\\n":        ":2: the file ends inside a continued line",
		"FROM a as b c\n":              ":1: FROM",
		"ARG V=1\nFROM a:$V\nUSER x\n": "",
	} {
		path := filepath.Join(t.TempDir(), "Dockerfile")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := parseDockerfile(path)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", src, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", src, err, want)
		}
	}
}

// TestComposeExample checks the compose file: a master and an agent of the
// image, the master's drop-in mounted where the daemon reads drop-ins, and
// that drop-in accepted by the packaged daemon's -check with the packaged
// pull plugin.
func TestComposeExample(t *testing.T) {
	b, err := os.ReadFile("container/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Image    string   `yaml:"image"`
			Hostname string   `yaml:"hostname"`
			Volumes  []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	agent, master := compose.Services["agent"], compose.Services["master"]
	if agent.Image == "" || agent.Image != master.Image {
		t.Errorf("agent and master must run the same image: %q, %q", agent.Image, master.Image)
	}
	if agent.Build == nil || filepath.Clean(filepath.Join("container", agent.Build.Context, agent.Build.Dockerfile)) != filepath.Clean(filepath.Join(repo, "packaging/container/Dockerfile")) {
		t.Errorf("the agent's build does not name this Dockerfile: %+v", agent.Build)
	}
	var dropIn string
	for _, v := range master.Volumes {
		if f := strings.Split(v, ":"); len(f) >= 2 && strings.HasPrefix(f[0], "./") {
			if !strings.HasPrefix(f[1], "/etc/wigo/wigo.d/") || !strings.HasSuffix(f[1], ".hcl") {
				t.Errorf("master mounts %s at %s, not a drop-in of /etc/wigo/wigo.d", f[0], f[1])
			}
			dropIn = filepath.Join("container", f[0])
		}
	}
	if dropIn == "" {
		t.Fatal("the master mounts no drop-in")
	}
	hcl, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hcl), `remote "`+agent.Hostname+`"`) {
		t.Errorf("%s does not pull the agent by its hostname %q", dropIn, agent.Hostname)
	}

	// The master's configuration as the container sees it: the packaged
	// wigo.hcl, the drop-in, the packaged plugins (here under a temp root).
	deb, _ := buildDeb(t)
	root := filepath.Join(t.TempDir(), "root")
	run(t, "dpkg-deb", "-x", deb, root)
	etc := filepath.Join(root, "etc", "wigo")
	cfg := rewrite(t, filepath.Join(etc, "wigo.hcl"), map[string]string{
		`plugins_dir = "/usr/lib/wigo/plugins"`: `plugins_dir = "` + filepath.Join(root, "usr", "lib", "wigo", "plugins") + `"`,
	})
	if err := os.WriteFile(filepath.Join(etc, "wigo.hcl"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "wigo.d", "50-master.hcl"), hcl, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "usr", "bin", "wigo"), "-c", filepath.Join(etc, "wigo.hcl"), "-check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration OK (2 file(s)") {
		t.Errorf("wigo -check with the master's drop-in: %v\n%s", err, out)
	}
}
