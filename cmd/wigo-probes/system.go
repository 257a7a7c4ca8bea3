package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("hardware_load_average", loadAverage)
	register("hardware_memory", memory)
	register("uptime", uptime)
	// check_uptime is the original's older name for the same check.
	register("check_uptime", uptime)
	register("hardware_disks", disks)
	register("check_process", process)
	register("check_readonly_filesystem", readonlyFS)
}

// cpuCount counts "processor" lines of /proc/cpuinfo; at least 1.
func (e *env) cpuCount() int {
	b, err := e.readFile("/proc/cpuinfo")
	n := 0
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "processor") && strings.Contains(l, ":") {
				n++
			}
		}
	}
	return max(n, 1)
}

func loadAverage(e *env, r *result) error {
	cfg := struct {
		ToCheck        int     `json:"toCheck"`
		WarnPercentage float64 `json:"warnPercentage"`
		CritPercentage float64 `json:"critPercentage"`
	}{5, 100, 200}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	b, err := e.readFile("/proc/loadavg")
	if err != nil {
		return err
	}
	f := strings.Fields(string(b))
	var load [3]float64
	if len(f) < 3 {
		return fmt.Errorf("cannot parse /proc/loadavg: %q", b)
	}
	for i := range load {
		if load[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return fmt.Errorf("cannot parse /proc/loadavg: %q", b)
		}
	}
	// The original's toCheck values 2 and 3 mean the 5- and 15-minute averages.
	which, ok := map[int]int{1: 1, 2: 5, 3: 15, 5: 5, 10: 5, 15: 15}[cfg.ToCheck]
	if !ok {
		return fmt.Errorf("toCheck must be 1, 5 or 15, not %d", cfg.ToCheck)
	}
	judged := map[int]float64{1: load[0], 5: load[1], 15: load[2]}[which]
	cpus := e.cpuCount()
	pct := round1(judged * 100 / float64(cpus))
	for i, m := range []int{1, 5, 15} {
		r.metric(load[i], "load", fmt.Sprintf("load%d", m))
	}
	r.Value = judged
	r.Detail = map[string]any{"load1": load[0], "load5": load[1], "load15": load[2], "cpus": cpus,
		"judged": fmt.Sprintf("load%d", which), "percentPerCpu": pct}
	level := ""
	switch {
	case pct > cfg.CritPercentage:
		r.raise(statusCrit)
		level = fmt.Sprintf(" > %g%%", cfg.CritPercentage)
	case pct > cfg.WarnPercentage:
		r.raise(statusWarn)
		level = fmt.Sprintf(" > %g%%", cfg.WarnPercentage)
	}
	r.Message = fmt.Sprintf("Load %g %g %g on %d CPU%s (%d-min average is %g%% of capacity%s)",
		load[0], load[1], load[2], cpus, plural(cpus), which, pct, level)
	return nil
}

// keyValues reads "Key: value unit" lines (meminfo style) into numbers.
func keyValues(b []byte) map[string]float64 {
	kv := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseFloat(f[0], 64); err == nil {
			kv[strings.TrimSpace(k)] = n
		}
	}
	return kv
}

func memory(e *env, r *result) error {
	cfg := struct {
		WarnLevel     float64 `json:"warnLevel"`
		CritLevel     float64 `json:"critLevel"`
		SwapWarnLevel float64 `json:"swapWarnLevel"`
		SwapCritLevel float64 `json:"swapCritLevel"`
	}{90, 95, 80, 95}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	b, err := e.readFile("/proc/meminfo")
	if err != nil {
		return err
	}
	kb := keyValues(b)
	if kb["MemTotal"] == 0 {
		return fmt.Errorf("no MemTotal in /proc/meminfo")
	}
	// MemAvailable exists since Linux 3.14; older kernels get the classic estimate.
	avail, ok := kb["MemAvailable"]
	if !ok {
		avail = kb["MemFree"] + kb["Buffers"] + kb["Cached"]
	}
	total := kb["MemTotal"] * 1024
	used := (kb["MemTotal"] - avail) * 1024
	pct := round1(used * 100 / total)
	swapTotal := kb["SwapTotal"] * 1024
	var swapUsed, swapPct float64
	if swapTotal > 0 {
		swapUsed = (kb["SwapTotal"] - kb["SwapFree"]) * 1024
		swapPct = round1(swapUsed * 100 / swapTotal)
	}
	var issues []string
	switch {
	case pct > cfg.CritLevel:
		r.raise(statusCrit)
		issues = append(issues, fmt.Sprintf("memory above %g%%", cfg.CritLevel))
	case pct > cfg.WarnLevel:
		r.raise(statusWarn)
		issues = append(issues, fmt.Sprintf("memory above %g%%", cfg.WarnLevel))
	}
	swapMsg := "no swap"
	if swapTotal > 0 {
		switch {
		case swapPct > cfg.SwapCritLevel:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("swap above %g%%", cfg.SwapCritLevel))
		case swapPct > cfg.SwapWarnLevel:
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("swap above %g%%", cfg.SwapWarnLevel))
		}
		swapMsg = fmt.Sprintf("swap %g%% used (%s of %s)", swapPct, human(swapUsed), human(swapTotal))
	}
	r.Value = pct
	r.Message = fmt.Sprintf("Memory %g%% used (%s of %s), %s", pct, human(used), human(total), swapMsg)
	if len(issues) > 0 {
		r.Message += ": " + strings.Join(issues, ", ")
	}
	r.metric(pct, "type", "mem_used_percent")
	r.metric(swapPct, "type", "swap_used_percent")
	r.metric(used, "type", "mem_used_bytes")
	r.metric(total, "type", "mem_total_bytes")
	r.Detail = map[string]any{"MemTotal": human(total), "MemUsed": human(used), "MemAvailable": human(avail * 1024),
		"MemUsedPercent": pct, "SwapTotal": human(swapTotal), "SwapUsed": human(swapUsed), "SwapUsedPercent": swapPct}
	return nil
}

// span formats a duration as "3 days 4:05", "4:05" or "7 min".
func span(s int64) string {
	d, h, m := s/86400, s%86400/3600, s%3600/60
	switch {
	case d > 0:
		return fmt.Sprintf("%d day%s %d:%02d", d, plural(int(d)), h, m)
	case h > 0:
		return fmt.Sprintf("%d:%02d", h, m)
	}
	return fmt.Sprintf("%d min", m)
}

func uptime(e *env, r *result) error {
	cfg := struct {
		RecentRebootWarn float64 `json:"recentRebootWarn"`
	}{600}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	b, err := e.readFile("/proc/uptime")
	if err != nil {
		return err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return fmt.Errorf("cannot parse /proc/uptime: %q", b)
	}
	upf, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return fmt.Errorf("cannot parse /proc/uptime: %q", b)
	}
	up := int64(upf)
	now := e.now()
	boot := now.Add(-time.Duration(up) * time.Second)
	const layout = "2006-01-02 15:04:05 -0700"
	var issues []string
	if cfg.RecentRebootWarn > 0 && upf < cfg.RecentRebootWarn {
		r.raise(statusWarn)
		issues = append(issues, "rebooted "+span(up)+" ago")
	}
	// A clock before 2020 (dead RTC battery, no NTP) makes every date wrong.
	if now.Year() < 2020 {
		r.raise(statusWarn)
		issues = append(issues, "system clock looks wrong ("+now.Format(layout)+")")
	}
	r.Value = up
	if len(issues) > 0 {
		r.Message = strings.Join(issues, "; ") + " (booted " + boot.Format(layout) + ")"
	} else {
		r.Message = "Up " + span(up) + ", booted " + boot.Format(layout)
	}
	r.metric(float64(up), "type", "uptime_seconds")
	zone, _ := now.Zone()
	r.Detail = map[string]any{"UptimeSeconds": up, "Uptime": span(up), "BootTime": boot.Format(layout),
		"Now": now.Format(layout), "Timezone": zone, "UnixTime": now.Unix()}
	return nil
}

// defaultExcludedTypes are pseudo and in-memory filesystems: never "full"
// in a way an operator acts on.
var defaultExcludedTypes = []string{"tmpfs", "devtmpfs", "overlay", "aufs", "squashfs", "ramfs", "rootfs",
	"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "nsfs", "tracefs", "debugfs", "securityfs",
	"pstore", "bpf", "autofs", "fusectl", "configfs", "hugetlbfs", "efivarfs", "rpc_pipefs", "binfmt_misc",
	"nfsd", "iso9660", "udf", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "selinuxfs"}

// dfRow is one line of `df -P -T`.
type dfRow struct {
	device, typ, mount string
	total, used, avail float64
	pct                float64
}

// df runs `df -P -T -l` (local filesystems only, so a hung NFS server
// cannot hang the probe). df exits 1 when one filesystem could not be read
// but still lists the others; only no output at all is a failure.
func (e *env) df(arg string) ([]dfRow, error) {
	res, err := e.command("df", "-P", "-T", "-l", arg)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(string(res.stdout), "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil, fmt.Errorf("df %s printed nothing (exit %d): %s", arg, res.exitCode, firstLine(res.stderr))
	}
	var rows []dfRow
	for _, l := range lines[1:] {
		// The mount point is the only field that may contain spaces.
		f := strings.Fields(l)
		if len(f) < 7 || !strings.HasSuffix(f[5], "%") {
			continue
		}
		idx := 0
		for i := 0; i < 6; i++ { // find where field 7 starts in the raw line
			idx += strings.Index(l[idx:], f[i]) + len(f[i])
		}
		row := dfRow{device: f[0], typ: f[1], mount: strings.TrimSpace(l[idx:])}
		row.total, _ = strconv.ParseFloat(f[2], 64)
		row.used, _ = strconv.ParseFloat(f[3], 64)
		row.avail, _ = strconv.ParseFloat(f[4], 64)
		p, perr := strconv.ParseFloat(strings.TrimSuffix(f[5], "%"), 64)
		if perr != nil {
			continue // "-" for filesystems without inodes
		}
		row.pct = p
		rows = append(rows, row)
	}
	return rows, nil
}

type levels struct {
	WarnLevel      *float64 `json:"warnLevel"`
	CritLevel      *float64 `json:"critLevel"`
	InodeWarnLevel *float64 `json:"inodeWarnLevel"`
	InodeCritLevel *float64 `json:"inodeCritLevel"`
}

func pick(o *float64, d float64) float64 {
	if o != nil {
		return *o
	}
	return d
}

func disks(e *env, r *result) error {
	cfg := struct {
		WarnLevel          float64           `json:"warnLevel"`
		CritLevel          float64           `json:"critLevel"`
		InodeWarnLevel     float64           `json:"inodeWarnLevel"`
		InodeCritLevel     float64           `json:"inodeCritLevel"`
		ExcludedTypes      []string          `json:"excludedTypes"`
		ExcludedPartitions []string          `json:"excludedPartitions"`
		ExcludedMounts     []string          `json:"excludedMounts"`
		LevelOverrides     map[string]levels `json:"levelOverrides"`
	}{WarnLevel: 85, CritLevel: 95, InodeWarnLevel: 85, InodeCritLevel: 95, ExcludedTypes: slices.Clone(defaultExcludedTypes)}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	skipDev := make([]*regexp.Regexp, 0, len(cfg.ExcludedPartitions))
	for _, p := range cfg.ExcludedPartitions {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			return fmt.Errorf("excludedPartitions: %w", err)
		}
		skipDev = append(skipDev, re)
	}
	inodeRows, err := e.df("-i")
	if err != nil {
		return err
	}
	inodes := map[string]dfRow{}
	for _, i := range inodeRows {
		inodes[i.mount] = i
	}
	rows, err := e.df("-k")
	if err != nil {
		return err
	}
	detail := map[string]any{}
	var issues []string
	seenDev := map[string]bool{}
	worst, worstPct := "", -1.0
rows:
	for _, row := range rows {
		if contains(cfg.ExcludedTypes, row.typ) || contains(cfg.ExcludedMounts, row.mount) {
			continue
		}
		for _, re := range skipDev {
			if re.MatchString(row.device) {
				continue rows
			}
		}
		// A device mounted twice (bind mounts, btrfs subvolumes) is judged
		// once, at its first mount point.
		if strings.HasPrefix(row.device, "/") {
			if seenDev[row.device] {
				continue
			}
			seenDev[row.device] = true
		}
		ov, ok := cfg.LevelOverrides[row.mount]
		if !ok {
			ov = cfg.LevelOverrides[row.device]
		}
		m := row.mount
		warn, crit := pick(ov.WarnLevel, cfg.WarnLevel), pick(ov.CritLevel, cfg.CritLevel)
		switch {
		case row.pct > crit:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s %g%% full (CRIT)", m, row.pct))
		case row.pct > warn:
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s %g%% full (WARN)", m, row.pct))
		}
		d := map[string]any{"Device": row.device, "Type": row.typ, "Size": human(row.total * 1024),
			"Used": human(row.used * 1024), "Free": human(row.avail * 1024), "Percentage": row.pct}
		r.metric(row.pct, "mountpoint", m, "device", row.device, "type", "used_percent")
		// Some filesystems have no inode limit.
		if in, ok := inodes[m]; ok && in.total > 0 {
			iw, ic := pick(ov.InodeWarnLevel, cfg.InodeWarnLevel), pick(ov.InodeCritLevel, cfg.InodeCritLevel)
			switch {
			case in.pct > ic:
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s inodes %g%% used (CRIT)", m, in.pct))
			case in.pct > iw:
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s inodes %g%% used (WARN)", m, in.pct))
			}
			d["InodePercentage"] = in.pct
			r.metric(in.pct, "mountpoint", m, "device", row.device, "type", "inodes_used_percent")
		}
		detail[m] = d
		if row.pct > worstPct {
			worst, worstPct = m, row.pct
		}
	}
	r.Detail = detail
	switch {
	case len(detail) == 0:
		r.Message = "No local filesystem to check (all excluded)"
	case len(issues) > 0:
		r.Message = strings.Join(issues, ", ")
	default:
		r.Message = fmt.Sprintf("%d filesystem%s OK; fullest is %s at %g%% (%s free)", len(detail), plural(len(detail)),
			worst, worstPct, detail[worst].(map[string]any)["Free"])
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// proc is one process as /proc shows it.
type proc struct {
	pid                  int
	comm, argv0, cmdline string
}

// processes lists /proc (under the root), except this process.
func (e *env) processes() ([]proc, error) {
	ents, err := os.ReadDir(e.path("/proc"))
	if err != nil {
		return nil, fmt.Errorf("cannot list /proc: %w", err)
	}
	self := os.Getpid()
	var out []proc
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid == self {
			continue
		}
		dir := filepath.Join(e.path("/proc"), ent.Name())
		comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
		cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		if len(comm) == 0 && len(cmd) == 0 {
			continue // exited while we looked
		}
		argv := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		out = append(out, proc{pid: pid, comm: strings.TrimSpace(string(comm)), argv0: argv[0], cmdline: strings.Join(argv, " ")})
	}
	return out, nil
}

// byName is the check_process match of a bare name: comm (truncated to 15
// characters by the kernel) or argv[0]'s basename, or argv[0] itself when
// the name is a path.
func byName(want string, p proc) bool {
	if strings.Contains(want, "/") {
		return p.argv0 == want
	}
	base := filepath.Base(p.argv0)
	// "sshd: user@pts/0" style titles.
	if i := strings.Index(base, ":"); i > 0 && regexp.MustCompile(`^[\w.-]+:`).MatchString(base) {
		base = base[:i]
	}
	w := want
	if len(w) > 15 {
		w = w[:15]
	}
	return p.comm == w || base == want
}

func process(e *env, r *result) error {
	var cfg struct {
		Processes   []flexSpec `json:"processes"`
		ProcessList []flexSpec `json:"processList"`
	}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	specs := cfg.Processes
	if len(specs) == 0 {
		specs = cfg.ProcessList
	}
	if len(specs) == 0 {
		r.Message = fmt.Sprintf("No process configured to check (add \"processes\" to %s.conf)", e.name)
		return nil
	}
	procs, err := e.processes()
	if err != nil {
		return err
	}
	detail := map[string]int{}
	var missing, extra []string
	for i, s := range specs {
		label, min, max := s.Name, 1, -1
		if s.Min != nil {
			min = *s.Min
		}
		if s.Max != nil {
			max = *s.Max
		}
		var match func(proc) bool
		if s.Pattern != "" {
			re, err := regexp.Compile(s.Pattern)
			if err != nil {
				return fmt.Errorf("processes[%d]: invalid pattern: %w", i, err)
			}
			if label == "" {
				label = s.Pattern
			}
			match = func(p proc) bool { return re.MatchString(p.cmdline) }
		} else if s.Name != "" {
			name := s.Name
			match = func(p proc) bool { return byName(name, p) }
		} else {
			return fmt.Errorf("processes[%d]: an entry needs \"name\" or \"pattern\"", i)
		}
		n := 0
		for _, p := range procs {
			if match(p) {
				n++
			}
		}
		detail[label] = n
		r.metric(float64(n), "process", label)
		switch {
		case n < min:
			r.raise(statusCrit)
			if min > 1 {
				missing = append(missing, fmt.Sprintf("%s (%d of %d)", label, n, min))
			} else {
				missing = append(missing, label)
			}
		case max >= 0 && n > max:
			r.raise(statusWarn)
			extra = append(extra, fmt.Sprintf("%s (%d > %d)", label, n, max))
		}
	}
	r.Detail = detail
	var msg []string
	if len(missing) > 0 {
		msg = append(msg, fmt.Sprintf("%d of %d not running: %s", len(missing), len(specs), strings.Join(missing, ", ")))
	}
	if len(extra) > 0 {
		msg = append(msg, "too many: "+strings.Join(extra, ", "))
	}
	if len(msg) > 0 {
		r.Message = strings.Join(msg, "; ")
	} else {
		r.Message = fmt.Sprintf("All %d configured processes are running", len(specs))
	}
	return nil
}

// flexSpec is a check_process entry: a bare name or an object.
type flexSpec struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
	Min     *int   `json:"min"`
	Max     *int   `json:"max"`
}

// UnmarshalJSON accepts "sshd" as {"name": "sshd"}.
func (f *flexSpec) UnmarshalJSON(b []byte) error {
	var s string
	if err := jsonUnmarshal(b, &s); err == nil {
		f.Name = s
		return nil
	}
	type plain flexSpec
	return jsonUnmarshal(b, (*plain)(f))
}

// mount is one line of /proc/mounts.
type mount struct {
	device, point, typ string
	options            []string
}

// mounts reads /proc/mounts under the root; octal escapes (\040 for a
// space) are decoded.
func (e *env) mounts() ([]mount, error) {
	b, err := e.readFile("/proc/mounts")
	if err != nil {
		return nil, err
	}
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		out = append(out, mount{device: unescapeMount(f[0]), point: unescapeMount(f[1]), typ: f[2], options: strings.Split(f[3], ",")})
	}
	return out, nil
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readonlyFS reports local filesystems the kernel remounted read-only (an
// I/O error on ext4 with errors=remount-ro) and, for the files configured
// as the original did ("files"), checks a write actually succeeds.
func readonlyFS(e *env, r *result) error {
	cfg := struct {
		Files         []string `json:"files"`
		ExcludedTypes []string `json:"excludedTypes"`
		IgnoredMounts []string `json:"ignoredMounts"`
	}{ExcludedTypes: slices.Clone(defaultExcludedTypes)}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	ms, err := e.mounts()
	if err != nil {
		return err
	}
	var ro []string
	checked := 0
	for _, m := range ms {
		if contains(cfg.ExcludedTypes, m.typ) || contains(cfg.IgnoredMounts, m.point) || !strings.HasPrefix(m.device, "/") {
			continue
		}
		checked++
		if contains(m.options, "ro") {
			ro = append(ro, m.point)
		}
	}
	sort.Strings(ro)
	var failed []string
	for _, f := range cfg.Files {
		p := e.path(f)
		err := os.WriteFile(p, []byte(e.now().UTC().Format(time.RFC3339)+"\n"), 0o644)
		if err == nil {
			err = os.Remove(p)
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", f, unwrapPath(err)))
		}
	}
	r.Detail = map[string]any{"ReadOnly": ro, "Checked": checked, "WriteFailures": failed}
	r.metric(float64(len(ro)), "type", "readonly_filesystems")
	var msg []string
	if len(ro) > 0 {
		r.raise(statusCrit)
		msg = append(msg, "read-only: "+strings.Join(ro, ", "))
	}
	if len(failed) > 0 {
		r.raise(statusCrit)
		msg = append(msg, "cannot write: "+strings.Join(failed, ", "))
	}
	if len(msg) == 0 {
		r.Message = fmt.Sprintf("%d local filesystem%s writable", checked, plural(checked))
		if len(cfg.Files) > 0 {
			r.Message += fmt.Sprintf(", %d test file%s written", len(cfg.Files), plural(len(cfg.Files)))
		}
		return nil
	}
	r.Message = strings.Join(msg, "; ")
	return nil
}
