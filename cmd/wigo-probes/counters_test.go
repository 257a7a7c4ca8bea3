package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func writeRoot(t *testing.T, root, path, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, path), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const netDev1 = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000000    1000    0    0    0     0          0         0  1000000    1000    0    0    0     0       0          0
  eth0: 5000000    4000    0    0    0     0          0         0  2000000    3000    0    0    0     0       0          0
  eth1:       0       0    3    0    0     0          0         0        0       0    0    0    0     0       0          0
`
const netDev2 = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9000000    9000    0    0    0     0          0         0  9000000    9000    0    0    0     0       0          0
  eth0: 7097152    6000    0    0    0     0          0         0  3048576    3500    0    0    0     0       0          0
  eth1:       0       0    5    1    0     0          0         0        0       0    0    0    0     0       0          0
`

func TestIfstat(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "ifstat", fixture{files: map[string]string{"/proc/net/dev": netDev1},
		between: func(root string) { writeRoot(t, root, "/proc/net/dev", netDev2) }, config: `{"sampleSeconds": 2}`})
	// eth0 received 2 MiB in 2 s; eth1 saw errors and a drop during the sample.
	r.want(t, 200, "errors or drops on eth1", "eth0 in 1.0 MiB/s out 512.0 KiB/s")
	if v := r.metricValue(t, "interface", "eth0", "type", "rx_packets_per_s"); v != 1000 {
		t.Fatalf("eth0 rx packets/s %v", v)
	}
	if _, ok := r.Detail["lo"]; ok {
		t.Fatalf("loopback measured: %v", r.Detail)
	}
	r = runFixture(t, "ifstat", fixture{files: map[string]string{"/proc/net/dev": netDev1}, config: `{"match": "^eth0$"}`})
	r.want(t, 100, "eth0 in 0 B/s out 0 B/s")
	r = runFixture(t, "ifstat", fixture{files: map[string]string{"/proc/net/dev": netDev1}, config: `{"fields": ["bogus"]}`})
	r.want(t, 500, `unknown field "bogus"`)
}

const diskstats1 = `   8       0 sda 1000 0 80000 500 2000 0 160000 900 0 1000 1400 0 0 0 0
   8       1 sda1 900 0 70000 400 1900 0 150000 800 0 900 1200 0 0 0 0
 259       0 nvme0n1 10 0 800 5 20 0 1600 9 0 10 14 0 0 0 0
   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0
`
const diskstats2 = `   8       0 sda 1100 0 82048 600 2400 0 164096 1000 0 1980 1600 0 0 0 0
   8       1 sda1 990 0 72000 490 2290 0 154000 890 0 1880 1380 0 0 0 0
 259       0 nvme0n1 10 0 800 5 20 0 1600 9 0 10 14 0 0 0 0
   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0
`

func TestIostat(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "iostat", fixture{files: map[string]string{"/proc/diskstats": diskstats1},
		between: func(root string) { writeRoot(t, root, "/proc/diskstats", diskstats2) }})
	// sda was busy 980 ms of the 1 s sample.
	r.want(t, 200, "sda 98% busy")
	if v := r.metricValue(t, "device", "sda", "type", "write_bytes_per_s"); v != 4096*512 {
		t.Fatalf("sda write bytes/s %v", v)
	}
	if _, ok := r.Detail["sda1"]; ok {
		t.Fatalf("partition measured: %v", r.Detail)
	}
	r = runFixture(t, "iostat", fixture{files: map[string]string{"/proc/diskstats": diskstats1}})
	r.want(t, 100, "nvme0n1 0% busy", "sda 0% busy")
}

func TestSpooldir(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	files := map[string]string{"/var/spool/out/a": "", "/var/spool/out/b": "", "/var/spool/out/sub/c": "", "/var/spool/in/x": ""}
	age := func(root string) {
		old := now.Add(-2 * time.Hour)
		if err := os.Chtimes(filepath.Join(root, "/var/spool/out/a"), old, old); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"/var/spool/out/b", "/var/spool/out/sub/c", "/var/spool/in/x"} {
			if err := os.Chtimes(filepath.Join(root, f), now, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := runFixture(t, "spooldir", fixture{now: now, files: files, setup: age,
		config: `{"directories": ["/var/spool/in", {"path": "/var/spool/out", "critCount": 3, "recursive": true}, "/var/spool/none"]}`})
	r.want(t, 300, "/var/spool/out holds 3 files (>= 3)", "/var/spool/out oldest file waits for 2:00", "/var/spool/none unreadable (no such file or directory)")
	r = runFixture(t, "spooldir", fixture{now: now, files: files, setup: age, config: `{"directories": ["/var/spool/in", "/var/spool/out"], "warnAge": 0, "critAge": 0}`})
	// Not recursive: sub/c is not counted.
	r.want(t, 100, "/var/spool/in: 1 file, /var/spool/out: 2 files")
	r = runFixture(t, "spooldir", fixture{config: `{"directories": [{"warnCount": 1}]}`})
	r.want(t, 500, `directories[0]: a directory needs a "path"`)
}

func TestGit(t *testing.T) {
	t.Parallel()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is needed (scripts/test-deps lists it)")
	}
	setup := func(root string) {
		for _, args := range [][]string{
			{"init", "-q", "-b", "main", "etc"},
			{"-C", "etc", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "init"},
			{"init", "-q", "-b", "main", "clean"},
		} {
			cmd := exec.Command(git, args...)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		writeRoot(t, root, "etc/hosts", "127.0.0.1 localhost\n")
		if err := os.Mkdir(filepath.Join(root, "plain"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The real git on real repositories.
	r := runFixture(t, "check_git", fixture{setup: setup,
		config: `{"git": "` + git + `", "repositories": {"etc": "/etc", "clean": "/clean", "plain": "/plain"}}`})
	r.want(t, 300, "etc: 1 uncommitted change (hosts)", "plain: not a git repository")
	if v := r.metricValue(t, "repository", "etc", "type", "changed_files"); v != 1 {
		t.Fatalf("etc changed files %v", v)
	}
	r = runFixture(t, "check_git", fixture{setup: setup, config: `{"git": "` + git + `", "repositories": ["/clean"]}`})
	r.want(t, 100, "1 repository clean")
	r = runFixture(t, "check_git", fixture{setup: setup, config: `{"git": "/nonexistent/git", "repositories": ["/clean"]}`})
	if r.code != exitRemove {
		t.Fatalf("no git: exit %d, want 13", r.code)
	}
}
