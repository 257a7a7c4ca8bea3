package packaging_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/model"
)

// emulator returns the command prefix that runs a's binaries here: nothing
// on the build machine's own architecture, qemu user emulation with a's
// Debian cross libc as the library root otherwise (no binfmt_misc needed).
func emulator(t *testing.T, a pkgArch) []string {
	t.Helper()
	if a.deb == arch() {
		return nil
	}
	need(t, a.qemu)
	sysroot := "/usr/" + a.triplet
	if _, err := os.Stat(filepath.Join(sysroot, "lib")); err != nil {
		t.Fatalf("%s: the cross libc qemu loads the binaries with: %v", sysroot, err)
	}
	return []string{a.qemu, "-L", sysroot}
}

// emulated is the command args run through the emulator prefix emu.
func emulated(emu []string, args ...string) *exec.Cmd {
	all := append(append([]string{}, emu...), args...)
	return exec.Command(all[0], all[1:]...)
}

// TestPackagedDaemonRuns takes each architecture's binaries out of its .deb
// and runs them as a host of that architecture would: wigo -version,
// wigo -check on the packaged configuration, then the daemon itself with a
// probe of the packaged probe library, until GET /api shows the probe's
// result.
func TestPackagedDaemonRuns(t *testing.T) {
	dist, _ := buildPackages(t)
	for _, a := range pkgArchs {
		t.Run(a.deb, func(t *testing.T) {
			t.Parallel()
			emu := emulator(t, a)
			root := filepath.Join(t.TempDir(), "root")
			run(t, "dpkg-deb", "-x", filepath.Join(dist, debName(a)), root)
			wigo := filepath.Join(root, "usr", "bin", "wigo")
			// The binary must really be a's: under qemu a host binary
			// would run as well and prove nothing.
			if desc := run(t, "file", "-b", wigo); !strings.Contains(desc, map[string]string{
				"amd64": "x86-64", "arm64": "ARM aarch64", "armhf": "ARM, EABI5"}[a.deb]) {
				t.Fatalf("%s is not an %s binary: %s", wigo, a.deb, desc)
			}

			out, err := emulated(emu, wigo, "-version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "wigo 1.2.3" {
				t.Fatalf("wigo -version: %v %q, want \"wigo 1.2.3\"", err, out)
			}
			shipped := filepath.Join(root, "etc", "wigo", "wigo.hcl")
			if out, err := emulated(emu, wigo, "-c", shipped, "-check").CombinedOutput(); err != nil ||
				!strings.Contains(string(out), "configuration OK") {
				t.Fatalf("wigo -check on the packaged wigo.hcl: %v\n%s", err, out)
			}

			dir := t.TempDir()
			probes := filepath.Join(dir, "probes", "60")
			if err := os.MkdirAll(probes, 0o755); err != nil {
				t.Fatal(err)
			}
			const probe = "check_readonly_filesystem"
			examples := filepath.Join(root, "usr", "lib", "wigo", "probes", "examples")
			if emu == nil {
				// The package's own link, as probes_dir/60/NAME links it.
				if err := os.Symlink(filepath.Join(examples, probe), filepath.Join(probes, probe)); err != nil {
					t.Fatal(err)
				}
			} else {
				// The daemon cannot exec a foreign binary without
				// binfmt_misc, which this machine lacks: the probe is a
				// script that runs the multi-call binary under qemu by the
				// name the link would give it (qemu -0 sets argv[0]).
				script := "#!/bin/sh\nexec " + strings.Join(emu, " ") + " -0 " + probe + " " +
					filepath.Join(root, "usr", "bin", "wigo-probes") + "\n"
				writeExec(t, filepath.Join(probes, probe), script)
			}
			cfg := rewrite(t, shipped, map[string]string{
				`probes_dir = "/etc/wigo/probes"`:        `probes_dir = "` + filepath.Dir(probes) + `"`,
				`probes_config_dir = "/etc/wigo/conf.d"`: `probes_config_dir = "` + filepath.Join(root, "etc", "wigo", "conf.d") + `"`,
				`plugins_dir = "/usr/lib/wigo/plugins"`:  `plugins_dir = "` + filepath.Join(root, "usr", "lib", "wigo", "plugins") + `"`,
				`database = "/var/lib/wigo/wigo.db"`:     `database = "` + filepath.Join(dir, "wigo.db") + `"`,
				`uuid_file = "/var/lib/wigo/uuid"`:       `uuid_file = "` + filepath.Join(dir, "uuid") + `"`,
				`  address = "0.0.0.0"`:                  `  address = "127.0.0.1"`,
				`  port    = 4000`:                       `  port    = 0`,
			})
			path := filepath.Join(dir, "wigo.hcl")
			if err := os.WriteFile(path, cfg, 0o644); err != nil {
				t.Fatal(err)
			}

			cmd := emulated(emu, wigo, "-c", path)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					t.Error("daemon did not stop within 30s of SIGTERM")
				}
			})
			// The start-up line names the address the daemon listens on
			// (port 0: any free one).
			urls := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				re := regexp.MustCompile(`http=(http://127\.0\.0\.1:[0-9]+)`)
				for sc.Scan() {
					if m := re.FindStringSubmatch(sc.Text()); m != nil {
						select {
						case urls <- m[1]:
						default: // only the first start-up line counts
						}
					}
				}
				exited <- cmd.Wait()
			}()
			var url string
			select {
			case url = <-urls:
			case err := <-exited:
				exited <- err
				t.Fatalf("daemon exited before listening: %v", err)
			case <-time.After(60 * time.Second):
				t.Fatal("no start-up line naming the HTTP address within 60s")
			}
			w := waitForAPI(t, url, 90*time.Second, func(w *model.Wigo) bool {
				return w.LocalHost != nil && w.LocalHost.Probes[probe] != nil && w.LocalHost.Probes[probe].Status != 0
			})
			if st := w.LocalHost.Probes[probe].Status; st != 100 {
				t.Errorf("%s status %d, want 100: %+v", probe, st, w.LocalHost.Probes[probe])
			}
			if w.Version == "" {
				t.Error("GET /api: no Version")
			}
			// The container's health check asks this.
			resp, err := http.Get(url + "/api/status")
			if err != nil {
				t.Fatalf("GET /api/status: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /api/status: %s, want 200", resp.Status)
			}
		})
	}
}

// waitForAPI polls GET url/api until cond accepts the document: polling is
// the only way to observe another process's state through its API.
func waitForAPI(t *testing.T, url string, within time.Duration, cond func(*model.Wigo) bool) *model.Wigo {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/api")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(body)
			var w model.Wigo
			if resp.StatusCode == 200 && json.Unmarshal(body, &w) == nil && cond(&w) {
				return &w
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("GET %s/api: condition not met within %s; last answer: %.500s", url, within, last)
	return nil
}

// rewrite returns file with each line old replaced by new; every old must
// be there exactly once, or the test would run on a configuration it did
// not mean.
func rewrite(t *testing.T, file string, lines map[string]string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for old, repl := range lines {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(old) + `$`)
		if n := len(re.FindAllIndex(b, -1)); n != 1 {
			t.Fatalf("%s: %d lines %q, want 1", file, n, old)
		}
		b = re.ReplaceAllLiteral(b, []byte(repl))
	}
	return b
}

func writeExec(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
