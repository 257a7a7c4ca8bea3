package packaging_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// rpmPath maps a path of the .deb to the .rpm's, "" for one the rpm does not
// hold: RPM distributions keep units in /usr/lib and licences in
// /usr/share/licenses; the Debian changelog is the deb's alone; and an rpm
// owns only the directories it creates for itself, not /usr/bin or /etc.
func rpmPath(debPath string) string {
	switch {
	case debPath == "/lib/systemd/system/wigo.service":
		return "/usr/lib/systemd/system/wigo.service"
	case debPath == "/usr/share/doc/wigo/copyright":
		return "/usr/share/licenses/wigo/copyright"
	case debPath == "/usr/share/doc/wigo/changelog.gz":
		return ""
	case debPath == "/etc/wigo/probes/":
		return "/etc/wigo/probes"
	case strings.HasSuffix(debPath, "/"):
		return ""
	}
	return debPath
}

// TestRPMContents checks each architecture's .rpm with rpm itself: the same
// files, modes and links as the .deb (in RPM's places), the same conffiles,
// the architecture, and scripts that create the user and seed the probes.
func TestRPMContents(t *testing.T) {
	need(t, "rpm")
	dist, bin := buildPackages(t)
	deb := wantContents(t, bin)
	want := map[string]entry{}
	var wantConf []string
	for p, e := range deb {
		if rp := rpmPath(p); rp != "" {
			if e.link != "" {
				// nfpm's rpm records links with no permission bits, as
				// it always has: the kernel ignores a link's mode.
				e.mode = "l---------"
			}
			want[rp] = entry{mode: e.mode, owner: e.owner, link: e.link}
			if strings.HasPrefix(p, "/etc/") && strings.HasPrefix(e.mode, "-") {
				wantConf = append(wantConf, rp)
			}
		}
	}
	sort.Strings(wantConf)
	for _, a := range pkgArchs {
		t.Run(a.deb, func(t *testing.T) {
			pkg := filepath.Join(dist, rpmName(a))
			got := map[string]entry{}
			list := run(t, "rpm", "-qp", "--qf", `[%{FILEMODES:perms}\t%{FILEUSERNAME}/%{FILEGROUPNAME}\t%{FILENAMES}\t%{FILELINKTOS}\n]`, pkg)
			for _, l := range strings.Split(strings.TrimRight(list, "\n"), "\n") {
				f := strings.Split(l, "\t")
				if len(f) != 4 {
					t.Fatalf("rpm -qp line %q", l)
				}
				got[f[2]] = entry{mode: f[0], owner: f[1], link: f[3]}
			}
			compareContents(t, got, want)
			// rpm -qpl is what an operator runs: it must list the daemon.
			if !slices.Contains(strings.Fields(run(t, "rpm", "-qpl", pkg)), "/usr/bin/wigo") {
				t.Error("rpm -qpl does not list /usr/bin/wigo")
			}
			if conf := strings.Fields(run(t, "rpm", "-qpc", pkg)); !slices.Equal(conf, wantConf) {
				t.Errorf("config files:\n got %q\nwant %q", conf, wantConf)
			}
			// Conffiles are %config(noreplace): an upgrade keeps an edited
			// wigo.hcl in place and writes the new one as .rpmnew.
			flags := run(t, "rpm", "-qp", "--qf", `[%{FILENAMES} %{FILEFLAGS:fflags}\n]`, pkg)
			if !strings.Contains(flags, "/etc/wigo/wigo.hcl cn\n") {
				t.Errorf("wigo.hcl is not %%config(noreplace):\n%s", flags)
			}
			info := run(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}", pkg)
			if info != "wigo 1.2.3 1 "+a.rpm {
				t.Errorf("rpm header %q, want \"wigo 1.2.3 1 %s\"", info, a.rpm)
			}
			// What the scriptlets and the unit run must be installed.
			requires := strings.Split(run(t, "rpm", "-qpR", pkg), "\n")
			for _, r := range []string{"glibc >= 2.34", "shadow-utils", "/usr/bin/kill"} {
				if !slices.Contains(requires, r) {
					t.Errorf("rpm does not require %q: %q", r, requires)
				}
			}
			scripts := run(t, "rpm", "-qp", "--scripts", pkg)
			for _, s := range []string{"preinstall scriptlet", "useradd -r -g wigo", "postinstall scriptlet",
				"/usr/share/wigo/default-probes", "preuninstall scriptlet", "disable --now wigo.service",
				"postuninstall scriptlet", "try-restart wigo.service"} {
				if !strings.Contains(scripts, s) {
					t.Errorf("rpm scripts lack %q:\n%s", s, scripts)
				}
			}
			// The binaries are a's (file(1) names the machine).
			root := t.TempDir()
			extract := exec.Command("sh", "-c", "rpm2cpio \"$1\" | cpio -idm --quiet", "sh", pkg)
			extract.Dir = root
			if out, err := extract.CombinedOutput(); err != nil {
				t.Fatalf("rpm2cpio: %v\n%s", err, out)
			}
			if desc := run(t, "file", "-b", filepath.Join(root, "usr", "bin", "wigo")); !strings.Contains(desc, map[string]string{
				"amd64": "x86-64", "arm64": "ARM aarch64", "armhf": "ARM, EABI5"}[a.deb]) {
				t.Errorf("the %s rpm's wigo: %s", a.rpm, desc)
			}
		})
	}
}

// rpmlintAccepted are the rpmlint errors a release build may have, and why.
var rpmlintAccepted = map[string]string{
	// Packages are signed when they are published, with the project's key,
	// which no build machine holds.
	"no-signature": "signed at publication",
}

// TestRPMLint runs Debian's rpmlint on every .rpm: no error but those of
// rpmlintAccepted.
func TestRPMLint(t *testing.T) {
	need(t, "rpmlint")
	dist, _ := buildPackages(t)
	for _, a := range pkgArchs {
		t.Run(a.deb, func(t *testing.T) {
			out, _ := exec.Command("rpmlint", filepath.Join(dist, rpmName(a))).CombinedOutput()
			t.Logf("rpmlint:\n%s", out)
			if !strings.Contains(string(out), "1 packages and 0 specfiles checked") {
				t.Fatalf("rpmlint did not check the package:\n%s", out)
			}
			for _, l := range strings.Split(string(out), "\n") {
				// wigo.x86_64: E: no-signature
				_, rest, ok := strings.Cut(l, ": E: ")
				if !ok {
					continue
				}
				if tag := strings.Fields(rest)[0]; rpmlintAccepted[tag] == "" {
					t.Errorf("rpmlint error: %s", l)
				}
			}
		})
	}
}
