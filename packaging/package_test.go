// Package packaging_test builds the packages (deb and rpm, amd64, arm64 and
// armhf) with the real make target and checks what they hold, that lintian,
// rpmlint and systemd-analyze accept them, what the maintainer scripts do in
// a throw-away root, and that each architecture's daemon runs (under qemu
// user emulation for the foreign ones).
//
// The tools come from Debian (dpkg-deb, lintian, rpm, the cross compilers,
// qemu-user-static, systemd-analyze): without
// them a test skips, unless CI is set, where a missing tool is a failure
// (scripts/test-deps installs them).
package packaging_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wigo-project/wigo/core/config"
)

// repo is the top of the source tree, relative to this package.
const repo = ".."

// Strays left lying where the package is built from, as a developer's tree
// has them: an executable in BIN/plugins and in BIN, a drop-in in
// etc/wigo.d. None may be shipped (the drop-in would become a conffile on
// every host): the package holds what the source tree tracks.
const (
	fakePlugin  = "notify-packagetest"
	fakeCommand = "wigo-stray"
	fakeDropIn  = "zz-stray-packagetest.txt"
)

// need skips the test when tool is missing, or fails it under CI.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI (scripts/test-deps installs it): %v", tool, err)
			}
			t.Skipf("%s not installed: %v (install it to run this test; CI fails instead of skipping)", tool, err)
		}
	}
}

// pkgArch is one architecture the packages are built for, in the names
// each tool gives it.
type pkgArch struct {
	deb, rpm, triplet, qemu string
}

var pkgArchs = []pkgArch{
	{"amd64", "x86_64", "x86_64-linux-gnu", "qemu-x86_64-static"},
	{"arm64", "aarch64", "aarch64-linux-gnu", "qemu-aarch64-static"},
	{"armhf", "armv7hl", "arm-linux-gnueabihf", "qemu-arm-static"},
}

var (
	buildOnce sync.Once
	built     struct {
		dir, bin, dist string
		err            error
	}
)

// buildPackages runs `make packages` once per test run (all six packages),
// with BIN and DIST in a temp dir so the shared tree's bin/ and dist/ are
// left alone, and returns DIST and the host's BIN.
func buildPackages(t *testing.T) (dist, bin string) {
	t.Helper()
	need(t, "make", "dpkg-deb")
	for _, a := range pkgArchs {
		need(t, a.triplet+"-gcc", a.triplet+"-strip")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wigo-pkg")
		if err != nil {
			built.err = err
			return
		}
		built.dir, built.bin, built.dist = dir, filepath.Join(dir, "bin"), filepath.Join(dir, "dist")
		if err := os.MkdirAll(filepath.Join(built.bin, "plugins"), 0o755); err != nil {
			built.err = err
			return
		}
		dropIn := filepath.Join(repo, "etc", "wigo.d", fakeDropIn)
		for _, f := range []string{filepath.Join(built.bin, "plugins", fakePlugin), filepath.Join(built.bin, fakeCommand), dropIn} {
			if err := os.WriteFile(f, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				built.err = err
				return
			}
		}
		defer os.Remove(dropIn)
		cmd := exec.Command("make", "packages", "VERSION=1.2.3", "BIN="+built.bin, "DIST="+built.dist)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("make packages: %v\n%s", err, out)
			return
		}
		for _, a := range pkgArchs {
			for _, p := range []string{debName(a), rpmName(a)} {
				if _, err := os.Stat(filepath.Join(built.dist, p)); err != nil {
					built.err = fmt.Errorf("make packages did not produce %s: %v\n%s", p, err, out)
					return
				}
			}
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.dist, built.bin
}

func debName(a pkgArch) string { return "wigo_1.2.3_" + a.deb + ".deb" }
func rpmName(a pkgArch) string { return "wigo-1.2.3-1." + a.rpm + ".rpm" }

// buildDeb returns the build machine's .deb and the BIN it was made from.
func buildDeb(t *testing.T) (deb, bin string) {
	t.Helper()
	dist, bin := buildPackages(t)
	return filepath.Join(dist, "wigo_1.2.3_"+arch()+".deb"), bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func arch() string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return "amd64"
	}
	return strings.TrimSpace(string(out))
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// entry is one line of dpkg-deb -c.
type entry struct {
	mode, owner, link string
}

func contents(t *testing.T, deb string) map[string]entry {
	t.Helper()
	files := map[string]entry{}
	sc := bufio.NewScanner(strings.NewReader(run(t, "dpkg-deb", "-c", deb)))
	for sc.Scan() {
		// drwxr-xr-x root/root 0 2026-01-01 00:00 ./etc/ [-> target]
		f := strings.Fields(sc.Text())
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line: %q", sc.Text())
		}
		e := entry{mode: f[0], owner: f[1]}
		if len(f) == 8 && f[6] == "->" {
			e.link = f[7]
		}
		files[strings.TrimPrefix(f[5], ".")] = e
	}
	return files
}

// names lists the entries of a source directory, for the parts of the
// package that follow the tree (example probes, probe configs).
func names(t *testing.T, dir string, keep func(fs.DirEntry) bool) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(repo, dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if keep(e) {
			out = append(out, e.Name())
		}
	}
	return out
}

// wantContents is what every architecture's .deb holds, by path, as
// dpkg-deb -c shows it (directories with a trailing slash).
func wantContents(t *testing.T, bin string) map[string]entry {
	t.Helper()
	const dir, exe, file = "drwxr-xr-x", "-rwxr-xr-x", "-rw-r--r--"
	want := map[string]entry{}
	add := func(path, mode string) { want[path] = entry{mode: mode, owner: "root/root"} }
	for _, d := range []string{"/etc/", "/etc/wigo/", "/etc/wigo/conf.d/", "/etc/wigo/probes/", "/etc/wigo/wigo.d/",
		"/lib/", "/lib/systemd/", "/lib/systemd/system/", "/usr/", "/usr/bin/", "/usr/lib/", "/usr/lib/wigo/",
		"/usr/lib/wigo/plugins/", "/usr/lib/wigo/probes/", "/usr/lib/wigo/probes/examples/", "/usr/share/",
		"/usr/share/doc/", "/usr/share/doc/wigo/", "/usr/share/wigo/"} {
		add(d, dir)
	}
	for _, f := range []string{"/etc/wigo/wigo.hcl", "/etc/wigo/wigo.d/README", "/lib/systemd/system/wigo.service",
		"/usr/share/doc/wigo/README.md", "/usr/share/doc/wigo/changelog.gz", "/usr/share/doc/wigo/copyright",
		"/usr/share/wigo/default-probes"} {
		add(f, file)
	}
	if _, err := os.Stat(filepath.Join(repo, "docs", "operators.md")); err == nil {
		add("/usr/share/doc/wigo/operators.md", file)
	}
	// Every command of cmd/ except the load generator, which is a
	// development tool; the three the issue names must be among them.
	cmds := names(t, "cmd", func(e fs.DirEntry) bool { return e.IsDir() && e.Name() != "wigo-bench" })
	for _, c := range []string{"wigo", "wigocli", "wigo-convert"} {
		if !slices.Contains(cmds, c) {
			t.Errorf("cmd/%s missing from the tree", c)
		}
	}
	for _, c := range cmds {
		add("/usr/bin/"+c, exe)
	}
	// Every plugin of plugins/, and none of the strays (checked below as
	// "unexpected").
	for _, p := range names(t, "plugins", func(e fs.DirEntry) bool { return e.IsDir() }) {
		add("/usr/lib/wigo/plugins/"+p, exe)
	}
	examples := names(t, "probes/examples", func(e fs.DirEntry) bool { return e.Type().IsRegular() })
	for _, p := range examples {
		add("/usr/lib/wigo/probes/examples/"+p, exe)
	}
	// Every probe of the library is a link to its binary, but where an
	// example script of that name is shipped.
	list, err := exec.Command(filepath.Join(bin, "wigo-probes"), "-list").Output()
	if err != nil {
		t.Fatalf("wigo-probes -list: %v", err)
	}
	library := strings.Fields(string(list))
	if len(library) < 20 {
		t.Errorf("the probe library lists %d probes, want at least 20", len(library))
	}
	for _, p := range library {
		if !slices.Contains(examples, p) {
			want["/usr/lib/wigo/probes/examples/"+p] = entry{mode: "lrwxrwxrwx", owner: "root/root", link: "../../../../bin/wigo-probes"}
		}
	}
	confs := names(t, "etc/conf.d", func(e fs.DirEntry) bool { return strings.HasSuffix(e.Name(), ".conf") })
	if len(confs) == 0 {
		t.Error("no probe configs in etc/conf.d")
	}
	for _, c := range confs {
		add("/etc/wigo/conf.d/"+c, file)
	}
	want["/etc/wigo/probes/examples"] = entry{mode: "lrwxrwxrwx", owner: "root/root", link: "/usr/lib/wigo/probes/examples"}
	return want
}

// TestDebContents checks each architecture's .deb file by file: the same
// layout, modes and links everywhere, nothing more (no stray), nothing less.
func TestDebContents(t *testing.T) {
	dist, bin := buildPackages(t)
	want := wantContents(t, bin)
	for _, a := range pkgArchs {
		t.Run(a.deb, func(t *testing.T) { checkDeb(t, filepath.Join(dist, debName(a)), a.deb, want) })
	}
}

// compareContents reports, sorted, every file a package holds that it
// should not, lacks, or holds with another mode, owner or link target.
func compareContents(t *testing.T, got, want map[string]entry) {
	t.Helper()
	var diff []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			diff = append(diff, "missing "+p)
		} else if g != w {
			diff = append(diff, fmt.Sprintf("%s: %+v, want %+v", p, g, w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diff = append(diff, "unexpected "+p)
		}
	}
	sort.Strings(diff)
	for _, d := range diff {
		t.Error(d)
	}
}

func checkDeb(t *testing.T, deb, arch string, want map[string]entry) {
	compareContents(t, contents(t, deb), want)

	// Every file under /etc is a conffile, and nothing else.
	var wantConf []string
	for p, e := range want {
		if strings.HasPrefix(p, "/etc/") && strings.HasPrefix(e.mode, "-") {
			wantConf = append(wantConf, p)
		}
	}
	sort.Strings(wantConf)
	gotConf := strings.Fields(run(t, "dpkg-deb", "-I", deb, "conffiles"))
	if !slices.Equal(gotConf, wantConf) {
		t.Errorf("conffiles:\n got %q\nwant %q", gotConf, wantConf)
	}

	fields := run(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends")
	for _, f := range []string{"Package: wigo", "Version: 1.2.3", "Architecture: " + arch, "adduser", "libc6", "procps"} {
		if !strings.Contains(fields, f) {
			t.Errorf("control lacks %q:\n%s", f, fields)
		}
	}
}

// TestShippedConfig loads the packaged /etc/wigo/wigo.hcl with the daemon's
// loader: it must be valid and point at the directories the package ships.
func TestShippedConfig(t *testing.T) {
	deb, _ := buildDeb(t)
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	cfg, diags := config.Load(filepath.Join(root, "etc", "wigo", "wigo.hcl"))
	if diags.HasErrors() {
		t.Fatalf("shipped wigo.hcl:\n%s", config.FormatDiagnostics(diags))
	}
	if cfg.ProbesDir != "/etc/wigo/probes" || cfg.PluginsDir != "/usr/lib/wigo/plugins" ||
		cfg.ProbesConfigDir != "/etc/wigo/conf.d" || cfg.Database != "/var/lib/wigo/wigo.db" ||
		cfg.UUIDFile != "/var/lib/wigo/uuid" || cfg.LogFile != "" {
		t.Errorf("shipped paths: probes %q plugins %q conf %q db %q uuid %q log %q",
			cfg.ProbesDir, cfg.PluginsDir, cfg.ProbesConfigDir, cfg.Database, cfg.UUIDFile, cfg.LogFile)
	}
}

// TestLintian runs lintian on every architecture's .deb: no error may be
// reported.
func TestLintian(t *testing.T) {
	need(t, "lintian")
	dist, _ := buildPackages(t)
	for _, a := range pkgArchs {
		t.Run(a.deb, func(t *testing.T) {
			// lintian exits non-zero on errors only with --fail-on error;
			// the output is checked as well so a tag is named in the failure.
			out, err := exec.Command("lintian", "--fail-on", "error", "--no-tag-display-limit",
				filepath.Join(dist, debName(a))).CombinedOutput()
			t.Logf("lintian:\n%s", out)
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "E:") {
					t.Errorf("lintian error: %s", l)
				}
			}
			if err != nil {
				t.Errorf("lintian: %v", err)
			}
		})
	}
}

// verifyUnit runs systemd-analyze verify on unit, with ExecStart pointed at a
// real binary (verify insists that it exists and is executable), and returns
// its output: systemd only warns about unknown or misspelt directives, with
// exit code 0, so any output at all is a failure for the caller.
func verifyUnit(t *testing.T, unit []byte, wigo string) (string, error) {
	t.Helper()
	if !bytes.Contains(unit, []byte("\nExecStart=/usr/bin/wigo ")) {
		t.Fatal("unit has no ExecStart=/usr/bin/wigo")
	}
	unit = bytes.Replace(unit, []byte("\nExecStart=/usr/bin/wigo "), []byte("\nExecStart="+wigo+" "), 1)
	path := filepath.Join(t.TempDir(), "wigo.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestSystemdUnit(t *testing.T) {
	need(t, "systemd-analyze")
	_, bin := buildDeb(t)
	wigo := filepath.Join(bin, "wigo")
	unit, err := os.ReadFile("wigo.service")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := verifyUnit(t, unit, wigo); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check must catch a typo, which systemd only warns about.
	typo := bytes.Replace(unit, []byte("\nProtectSystem="), []byte("\nProtectSytem="), 1)
	if out, err := verifyUnit(t, typo, wigo); err == nil && out == "" {
		t.Error("systemd-analyze verify accepted ProtectSytem= silently: the check above proves nothing")
	}

	// The directives the issue asks for, with their values.
	directives := map[string]string{}
	for _, l := range strings.Split(string(unit), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			directives[k] = v
		}
	}
	for k, v := range map[string]string{
		"Type": "simple", "User": "wigo", "ExecStart": "/usr/bin/wigo -c /etc/wigo/wigo.hcl",
		"ExecReload": "/bin/kill -HUP $MAINPID", "ProtectSystem": "strict", "ProtectHome": "read-only",
		"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ReadWritePaths": "/var/lib/wigo",
		"ProtectKernelTunables": "yes", "ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes",
		"LockPersonality": "yes", "WantedBy": "multi-user.target",
	} {
		if directives[k] != v {
			t.Errorf("%s=%q, want %q", k, directives[k], v)
		}
	}
	// Probes read every process and device: these would blind them.
	for _, k := range []string{"ProtectProc", "PrivateDevices", "ProcSubset"} {
		if _, ok := directives[k]; ok {
			t.Errorf("%s is set: probes need /proc and /dev as they are", k)
		}
	}
}

// installRoot extracts the package into a temp root, as dpkg would unpack
// it, and its maintainer scripts into ctrl.
type installRoot struct {
	root, ctrl, log string
	env             []string
}

// newInstallRoot prepares the root and the mocks. What is mocked, and why:
// adduser and chown need real root on the host and would create a "wigo"
// user in the host's /etc/passwd, so they are replaced by scripts that record
// their arguments (the test checks them); deb-systemd-helper,
// deb-systemd-invoke and systemctl would act on the host's systemd. Every
// file operation of the scripts is real, under DPKG_ROOT.
func newInstallRoot(t *testing.T) *installRoot {
	t.Helper()
	deb, _ := buildDeb(t)
	dir := t.TempDir()
	r := &installRoot{root: filepath.Join(dir, "root"), ctrl: filepath.Join(dir, "DEBIAN"), log: filepath.Join(dir, "calls.log")}
	run(t, "dpkg-deb", "-x", deb, r.root)
	run(t, "dpkg-deb", "-e", deb, r.ctrl)
	mocks := filepath.Join(dir, "mocks")
	if err := os.Mkdir(mocks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"adduser", "chown", "deb-systemd-helper", "deb-systemd-invoke", "systemctl"} {
		script := "#!/bin/sh\necho \"" + tool + " $*\" >> \"$MOCK_LOG\"\nexit 0\n"
		if err := os.WriteFile(filepath.Join(mocks, tool), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.env = append(os.Environ(), "DPKG_ROOT="+r.root, "MOCK_LOG="+r.log,
		"PATH="+mocks+string(os.PathListSeparator)+os.Getenv("PATH"))
	return r
}

// script runs a maintainer script with args and returns the mocked calls it
// made.
func (r *installRoot) script(t *testing.T, name string, args ...string) []string {
	t.Helper()
	os.Remove(r.log)
	cmd := exec.Command(filepath.Join(r.ctrl, name), args...)
	cmd.Env = r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	b, err := os.ReadFile(r.log)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (r *installRoot) path(p string) string { return filepath.Join(r.root, p) }

// defaultProbes reads the list postinst seeds, "<interval>/<name>" a line.
func (r *installRoot) defaultProbes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(r.path("/usr/share/wigo/default-probes"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func mustContain(t *testing.T, calls []string, want string) {
	t.Helper()
	if !slices.Contains(calls, want) {
		t.Errorf("no call %q in %q", want, calls)
	}
}

func TestInstallUpgradePurge(t *testing.T) {
	r := newInstallRoot(t)
	probes := r.defaultProbes(t)
	// The default set is what probes/ of the tree links, at least these.
	for _, p := range []string{"60/hardware_disks", "60/hardware_load_average", "60/hardware_memory", "60/uptime"} {
		if !slices.Contains(probes, p) {
			t.Errorf("default-probes lacks %s: %q", p, probes)
		}
	}

	// Fresh install: dpkg runs "postinst configure" with no old version.
	calls := r.script(t, "postinst", "configure")
	mustContain(t, calls, "adduser --system --group --home /var/lib/wigo --no-create-home --gecos Wigo monitoring daemon --quiet wigo")
	mustContain(t, calls, "chown wigo:wigo "+r.path("/var/lib/wigo"))
	mustContain(t, calls, "deb-systemd-helper enable wigo.service")
	for _, c := range calls {
		if strings.HasPrefix(c, "deb-systemd-invoke") || strings.HasPrefix(c, "systemctl") {
			t.Errorf("%q run against a DPKG_ROOT install: it would act on the host", c)
		}
	}
	st, err := os.Stat(r.path("/var/lib/wigo"))
	if err != nil || st.Mode().Perm() != 0o750 || !st.IsDir() {
		t.Errorf("/var/lib/wigo: %v %v, want a 0750 directory", st, err)
	}
	for _, p := range probes {
		interval, name, _ := strings.Cut(p, "/")
		link := r.path("/etc/wigo/probes/" + p)
		target, err := os.Readlink(link)
		if err != nil || target != "../examples/"+name {
			t.Errorf("%s -> %q (%v), want ../examples/%s", p, target, err, name)
			continue
		}
		// ../examples is the packaged link to /usr/lib/wigo/probes/examples,
		// absolute, so it is resolved inside the root by hand.
		st, err := os.Stat(r.path("/usr/lib/wigo/probes/examples/" + name))
		if err != nil || st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s/%s links to a missing or non-executable probe: %v", interval, name, err)
		}
	}

	// The operator disables a probe, enables another, adds one of their own
	// and tightens the state directory.
	removed, enabled := probes[0], "60/check_http"
	if err := os.Remove(r.path("/etc/wigo/probes/" + removed)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../examples/check_http", r.path("/etc/wigo/probes/"+enabled)); err != nil {
		t.Fatal(err)
	}
	own := r.path("/etc/wigo/probes/60/my_probe")
	if err := os.WriteFile(own, []byte("#!/bin/sh\necho '{\"Status\":100}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.path("/var/lib/wigo"), 0o700); err != nil {
		t.Fatal(err)
	}

	// Upgrade: the new version's postinst runs with the old version.
	calls = r.script(t, "prerm", "upgrade", "1.2.3")
	if len(calls) != 0 {
		t.Errorf("prerm upgrade made calls %q; the daemon is restarted by postinst, not stopped", calls)
	}
	r.script(t, "postinst", "configure", "1.2.2")
	if _, err := os.Lstat(r.path("/etc/wigo/probes/" + removed)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("upgrade re-created %s, which the operator removed (err %v)", removed, err)
	}
	for _, p := range append(probes[1:], enabled) {
		if _, err := os.Lstat(r.path("/etc/wigo/probes/" + p)); err != nil {
			t.Errorf("upgrade lost %s: %v", p, err)
		}
	}
	if st, err := os.Stat(r.path("/var/lib/wigo")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("upgrade changed the operator's /var/lib/wigo mode: %v %v", st, err)
	}

	// Remove, then purge.
	r.script(t, "prerm", "remove")
	mustContain(t, r.script(t, "postrm", "remove"), "deb-systemd-helper mask wigo.service")
	if _, err := os.Stat(r.path("/var/lib/wigo")); err != nil {
		t.Errorf("remove (not purge) deleted the state: %v", err)
	}
	mustContain(t, r.script(t, "postrm", "purge"), "deb-systemd-helper purge wigo.service")
	if _, err := os.Stat(r.path("/var/lib/wigo")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("purge left /var/lib/wigo: %v", err)
	}
	for _, p := range append(probes[1:], enabled) {
		if _, err := os.Lstat(r.path("/etc/wigo/probes/" + p)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("purge left the link %s: %v", p, err)
		}
	}
	if _, err := os.Stat(own); err != nil {
		t.Errorf("purge deleted the operator's own probe: %v", err)
	}
}

// TestFreshInstallKeepsExisting: a directory prepared before the first
// install (configuration management often does that) is not overwritten.
func TestFreshInstallKeepsExisting(t *testing.T) {
	r := newInstallRoot(t)
	p := r.defaultProbes(t)[0]
	link := r.path("/etc/wigo/probes/" + p)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(link, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.script(t, "postinst", "configure")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
		t.Errorf("postinst replaced the operator's %s: %v %v", p, fi, err)
	}
}
