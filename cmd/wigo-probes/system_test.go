package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const cpuinfo4 = "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\n\nprocessor\t: 2\n\nprocessor\t: 3\n"

func TestLoadAverage(t *testing.T) {
	t.Parallel()
	ok := runFixture(t, "hardware_load_average", fixture{files: map[string]string{
		"/proc/loadavg": "0.50 1.00 2.00 1/234 5678\n", "/proc/cpuinfo": cpuinfo4}})
	ok.want(t, 100, "Load 0.5 1 2 on 4 CPUs", "5-min average is 25% of capacity")
	if v := ok.metricValue(t, "load", "load15"); v != 2 {
		t.Fatalf("load15 = %v", v)
	}
	busy := runFixture(t, "hardware_load_average", fixture{files: map[string]string{
		"/proc/loadavg": "9.00 9.00 9.00 1/234 5678\n", "/proc/cpuinfo": cpuinfo4}})
	busy.want(t, 300, "225% of capacity > 200%")
	// The original's toCheck 3 is the 15-minute average.
	judged := runFixture(t, "hardware_load_average", fixture{config: `{"toCheck": 3, "warnPercentage": 40} # comment`,
		files: map[string]string{"/proc/loadavg": "0.10 0.10 2.00 1/1 1\n", "/proc/cpuinfo": cpuinfo4}})
	judged.want(t, 200, "15-min average is 50% of capacity > 40%")
	bad := runFixture(t, "hardware_load_average", fixture{config: "{\n  \"toCheck\": \"five\"\n}",
		files: map[string]string{"/proc/loadavg": "0.10 0.10 2.00 1/1 1\n"}})
	bad.want(t, 500, "hardware_load_average.conf:2:", "toCheck")
}

const meminfo = `MemTotal:        8000000 kB
MemFree:          100000 kB
MemAvailable:    2000000 kB
Buffers:           10000 kB
Cached:           500000 kB
SwapTotal:       1000000 kB
SwapFree:         100000 kB
`

func TestMemory(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "hardware_memory", fixture{files: map[string]string{"/proc/meminfo": meminfo}})
	// 75% memory is fine, 90% swap is over the 80% warning.
	r.want(t, 200, "Memory 75% used", "swap 90% used", "swap above 80%")
	if v := r.metricValue(t, "type", "mem_total_bytes"); v != 8000000*1024 {
		t.Fatalf("total %v", v)
	}
	noswap := strings.Replace(strings.Replace(meminfo, "SwapTotal:       1000000", "SwapTotal:       0", 1), "MemAvailable:    2000000", "MemAvailable:     200000", 1)
	r = runFixture(t, "hardware_memory", fixture{files: map[string]string{"/proc/meminfo": noswap}})
	r.want(t, 300, "Memory 97.5% used", "no swap", "memory above 95%")
	r = runFixture(t, "hardware_memory", fixture{files: map[string]string{}})
	r.want(t, 500, "cannot read /proc/meminfo: no such file or directory")
}

func TestUptime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for _, name := range []string{"uptime", "check_uptime"} {
		r := runFixture(t, name, fixture{now: now, files: map[string]string{"/proc/uptime": "270000.51 1000.0\n"}})
		r.want(t, 100, "Up 3 days 3:00, booted 2026-11-30 09:00:00 +0000")
		if v := r.metricValue(t, "type", "uptime_seconds"); v != 270000 {
			t.Fatalf("uptime %v", v)
		}
	}
	r := runFixture(t, "uptime", fixture{now: now, files: map[string]string{"/proc/uptime": "120.0 1.0\n"}})
	r.want(t, 200, "rebooted 2 min ago")
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	r = runFixture(t, "uptime", fixture{now: old, config: `{"recentRebootWarn": 0}`, files: map[string]string{"/proc/uptime": "120.0 1.0\n"}})
	r.want(t, 200, "system clock looks wrong (2001-01-01")
}

// dfStub answers `df -P -T -l -k` and `df -P -T -l -i` from recorded output.
func dfStub(blocks, inodes string) string {
	return `case "$4" in -i) cat <<'X'
` + inodes + `X
;; *) cat <<'X'
` + blocks + `X
;; esac`
}

const dfBlocks = `Filesystem     Type     1024-blocks      Used Available Capacity Mounted on
/dev/sda1      ext4        10000000   9000000   1000000      90% /
tmpfs          tmpfs         100000    100000         0     100% /run
/dev/sdb1      xfs         20000000   2000000  18000000      10% /srv/my data
/dev/sda1      ext4        10000000   9000000   1000000      90% /var/lib/bind
`
const dfInodes = `Filesystem     Type       Inodes   IUsed   IFree IUse% Mounted on
/dev/sda1      ext4       655360  650000    5360    99% /
tmpfs          tmpfs       10000     100    9900     1% /run
/dev/sdb1      xfs             0       0       0     -  /srv/my data
`

func TestDisks(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "hardware_disks", fixture{stubs: map[string]string{"df": dfStub(dfBlocks, dfInodes)}})
	r.want(t, 300, "/ 90% full (WARN)", "/ inodes 99% used (CRIT)")
	if _, ok := r.Detail["/srv/my data"]; !ok {
		t.Fatalf("mount point with a space missing: %v", r.Detail)
	}
	if _, ok := r.Detail["/run"]; ok {
		t.Fatalf("tmpfs judged: %v", r.Detail)
	}
	if _, ok := r.Detail["/var/lib/bind"]; ok {
		t.Fatalf("bind mount of / judged twice: %v", r.Detail)
	}
	r = runFixture(t, "hardware_disks", fixture{stubs: map[string]string{"df": dfStub(dfBlocks, dfInodes)},
		config: `{"levelOverrides": {"/": {"warnLevel": 95, "inodeCritLevel": 100, "inodeWarnLevel": 100}},}`})
	r.want(t, 100, "2 filesystems OK; fullest is / at 90% (976.6 MiB free)")
	// Replacing excludedTypes must not change the defaults of the next run.
	r = runFixture(t, "hardware_disks", fixture{stubs: map[string]string{"df": dfStub(dfBlocks, dfInodes)}, config: `{"excludedTypes": ["xfs"]}`})
	if _, ok := r.Detail["/run"]; !ok {
		t.Fatalf("tmpfs not judged with excludedTypes [xfs]: %v", r.Detail)
	}
	if !slices.Contains(defaultExcludedTypes, "tmpfs") || defaultExcludedTypes[0] != "tmpfs" {
		t.Fatalf("config changed the default excluded types: %v", defaultExcludedTypes)
	}
	r = runFixture(t, "hardware_disks", fixture{stubs: map[string]string{"df": "exit 1"}})
	r.want(t, 500, "df -i printed nothing")
}

// procTree is a fake /proc with the given pid -> comm, cmdline.
func procTree(procs map[string][2]string) map[string]string {
	files := map[string]string{}
	for pid, p := range procs {
		files["/proc/"+pid+"/comm"] = p[0] + "\n"
		files["/proc/"+pid+"/cmdline"] = strings.ReplaceAll(p[1], " ", "\x00") + "\x00"
	}
	return files
}

func TestProcess(t *testing.T) {
	t.Parallel()
	files := procTree(map[string][2]string{
		"1":   {"systemd", "/sbin/init splash"},
		"200": {"sshd", "sshd: admin@pts/0"},
		"300": {"celery", "/usr/bin/python3 -m celery worker"},
		"301": {"celery", "/usr/bin/python3 -m celery worker"},
		"400": {"postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/pg"},
	})
	r := runFixture(t, "check_process", fixture{files: files,
		config: `{"processes": ["sshd", "/sbin/init", "postgres", {"name": "workers", "pattern": "celery.*worker", "min": 2, "max": 3}]}`})
	r.want(t, 100, "All 4 configured processes are running")
	if v := r.metricValue(t, "process", "workers"); v != 2 {
		t.Fatalf("workers %v", v)
	}
	r = runFixture(t, "check_process", fixture{files: files,
		config: `{"processList": ["nginx", {"name": "workers", "pattern": "celery", "max": 1}]}`})
	r.want(t, 300, "1 of 2 not running: nginx", "too many: workers (2 > 1)")
	r = runFixture(t, "check_process", fixture{files: files})
	r.want(t, 100, "No process configured")
	r = runFixture(t, "check_process", fixture{files: files, config: `{"processes": [{"pattern": "("}]}`})
	r.want(t, 500, "processes[0]: invalid pattern")
}

func TestReadonlyFilesystem(t *testing.T) {
	t.Parallel()
	mounts := "/dev/sda1 / ext4 rw,relatime 0 0\nproc /proc proc rw 0 0\n/dev/sdb1 /srv/my\\040data xfs ro,relatime 0 0\ntmpfs /run tmpfs ro 0 0\n"
	r := runFixture(t, "check_readonly_filesystem", fixture{files: map[string]string{"/proc/mounts": mounts}})
	r.want(t, 300, "read-only: /srv/my data")
	r = runFixture(t, "check_readonly_filesystem", fixture{files: map[string]string{"/proc/mounts": mounts, "/srv/ok/.keep": ""},
		config: `{"ignoredMounts": ["/srv/my data"], "files": ["/srv/ok/.wigo_fs_check"]}`})
	r.want(t, 100, "1 local filesystem writable, 1 test file written")
	if _, err := os.Stat(filepath.Join(r.root, "srv/ok/.wigo_fs_check")); !os.IsNotExist(err) {
		t.Fatalf("test file left behind: %v", err)
	}
	r = runFixture(t, "check_readonly_filesystem", fixture{files: map[string]string{"/proc/mounts": mounts},
		config: `{"ignoredMounts": ["/srv/my data"], "files": ["/nowhere/.wigo_fs_check"]}`})
	r.want(t, 300, "cannot write: /nowhere/.wigo_fs_check (no such file or directory)")
}

func TestConfigDisabled(t *testing.T) {
	t.Parallel()
	r := runFixture(t, "hardware_memory", fixture{config: `{"enabled": false}`, files: map[string]string{"/proc/meminfo": meminfo}})
	if r.code != exitDisable || r.stdout != "" {
		t.Fatalf("exit %d stdout %q, want 12 and nothing", r.code, r.stdout)
	}
}
