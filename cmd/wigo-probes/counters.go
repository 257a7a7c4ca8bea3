package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	register("ifstat", ifstat)
	register("iostat", iostat)
	register("spooldir", spooldir)
	register("check_git", checkGit)
}

// sampleTwice reads a counters file, waits, reads it again, and returns
// both samples with the seconds between them, so rates need no state kept
// between runs.
func (e *env) sampleTwice(path string, seconds float64, parse func([]byte) (map[string][]float64, error)) (a, b map[string][]float64, dt float64, err error) {
	read := func() (map[string][]float64, time.Time, error) {
		raw, err := e.readFile(path)
		if err != nil {
			return nil, time.Time{}, err
		}
		m, err := parse(raw)
		return m, e.now(), err
	}
	a, t1, err := read()
	if err != nil {
		return nil, nil, 0, err
	}
	e.sleep(time.Duration(seconds * float64(time.Second)))
	b, t2, err := read()
	if err != nil {
		return nil, nil, 0, err
	}
	dt = t2.Sub(t1).Seconds()
	if dt <= 0 {
		dt = seconds
	}
	return a, b, dt, nil
}

// netDevFields are /proc/net/dev's columns, receive then transmit.
var netDevFields = []string{"bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast"}

// sampled lists, sorted, the names both samples hold that match: a device
// that came or went between them has no rate.
func sampled(a, b map[string][]float64, match *regexp.Regexp) []string {
	names := make([]string, 0, len(b))
	for n := range b {
		if _, ok := a[n]; ok && match.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func parseNetDev(raw []byte) (map[string][]float64, error) {
	out := map[string][]float64{}
	for _, l := range lines(raw) {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue // the two header lines
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			return nil, fmt.Errorf("cannot parse /proc/net/dev line %q", l)
		}
		v := make([]float64, 16)
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[i], 64)
		}
		out[strings.TrimSpace(name)] = v
	}
	return out, nil
}

// ifstat measures each interface's traffic over a short sample of
// /proc/net/dev. Errors or drops during the sample are a WARN.
func ifstat(e *env, r *result) error {
	cfg := struct {
		Fields        []string `json:"fields"`
		Match         string   `json:"match"`
		SampleSeconds float64  `json:"sampleSeconds"`
	}{Fields: []string{"bytes", "packets", "errs", "drop"}, Match: `^(?:[^l]|l[^o]|lo.)`, SampleSeconds: 1}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	match, err := regexp.Compile(cfg.Match)
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	idx := map[string]int{}
	for i, f := range netDevFields {
		idx[f] = i
	}
	for _, f := range cfg.Fields {
		if _, ok := idx[f]; !ok {
			return fmt.Errorf("fields: unknown field %q (known: %s)", f, strings.Join(netDevFields, ", "))
		}
	}
	a, b, dt, err := e.sampleTwice("/proc/net/dev", cfg.SampleSeconds, parseNetDev)
	if err != nil {
		return err
	}
	names := sampled(a, b, match)
	detail := map[string]any{}
	var troubled []string
	for _, n := range names {
		d := map[string]float64{}
		for _, f := range cfg.Fields {
			for _, dir := range []struct {
				name string
				off  int
			}{{"rx", 0}, {"tx", 8}} {
				i := idx[f] + dir.off
				rate := (b[n][i] - a[n][i]) / dt
				if rate < 0 {
					rate = 0 // counter reset (interface re-created)
				}
				d[dir.name+"_"+f+"_per_s"] = round1(rate)
				r.metric(round1(rate), "interface", n, "type", dir.name+"_"+f+"_per_s")
			}
		}
		detail[n] = d
		if b[n][2]-a[n][2]+b[n][10]-a[n][10] > 0 || b[n][3]-a[n][3]+b[n][11]-a[n][11] > 0 {
			r.raise(statusWarn)
			troubled = append(troubled, n)
		}
	}
	r.Detail = detail
	if len(names) == 0 {
		r.Message = "No interface matches " + cfg.Match
		return nil
	}
	var parts []string
	for _, n := range names {
		rx := (b[n][0] - a[n][0]) / dt
		tx := (b[n][8] - a[n][8]) / dt
		parts = append(parts, fmt.Sprintf("%s in %s/s out %s/s", n, human(max(rx, 0)), human(max(tx, 0))))
	}
	r.Message = strings.Join(parts, ", ")
	if len(troubled) > 0 {
		r.Message = "errors or drops on " + strings.Join(troubled, ", ") + "; " + r.Message
	}
	return nil
}

func parseDiskstats(raw []byte) (map[string][]float64, error) {
	out := map[string][]float64{}
	for _, l := range lines(raw) {
		f := strings.Fields(l)
		if len(f) < 14 {
			return nil, fmt.Errorf("cannot parse /proc/diskstats line %q", l)
		}
		v := make([]float64, 11)
		for i := range v {
			v[i], _ = strconv.ParseFloat(f[3+i], 64)
		}
		out[f[2]] = v
	}
	return out, nil
}

// iostat measures each whole disk's I/O over a short sample of
// /proc/diskstats: operations and bytes per second, and how busy it was.
func iostat(e *env, r *result) error {
	cfg := struct {
		Match         string  `json:"match"`
		SampleSeconds float64 `json:"sampleSeconds"`
		UtilWarn      float64 `json:"utilWarn"`
		UtilCrit      float64 `json:"utilCrit"`
	}{Match: `^(?:sd[a-z]+|hd[a-z]+|vd[a-z]+|xvd[a-z]+|nvme\d+n\d+|mmcblk\d+|md\d+)$`, SampleSeconds: 1, UtilWarn: 95}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	match, err := regexp.Compile(cfg.Match)
	if err != nil {
		return fmt.Errorf("match: %w", err)
	}
	a, b, dt, err := e.sampleTwice("/proc/diskstats", cfg.SampleSeconds, parseDiskstats)
	if err != nil {
		return err
	}
	names := sampled(a, b, match)
	detail := map[string]any{}
	var busy, parts []string
	for _, n := range names {
		d := func(i int) float64 { return max(b[n][i]-a[n][i], 0) }
		// Fields: reads, merged, sectors read, ms reading, writes, merged,
		// sectors written, ms writing, in flight, ms doing I/O, weighted ms.
		// Sectors are 512 bytes whatever the disk's own sector size.
		st := map[string]float64{
			"reads_per_s": round1(d(0) / dt), "writes_per_s": round1(d(4) / dt),
			"read_bytes_per_s": round1(d(2) * 512 / dt), "write_bytes_per_s": round1(d(6) * 512 / dt),
			"util_percent": round1(min(d(9)/(dt*1000)*100, 100)),
		}
		for _, k := range []string{"reads_per_s", "writes_per_s", "read_bytes_per_s", "write_bytes_per_s", "util_percent"} {
			r.metric(st[k], "device", n, "type", k)
		}
		detail[n] = st
		u := st["util_percent"]
		switch {
		case cfg.UtilCrit > 0 && u >= cfg.UtilCrit:
			r.raise(statusCrit)
			busy = append(busy, fmt.Sprintf("%s %g%% busy", n, u))
		case cfg.UtilWarn > 0 && u >= cfg.UtilWarn:
			r.raise(statusWarn)
			busy = append(busy, fmt.Sprintf("%s %g%% busy", n, u))
		}
		parts = append(parts, fmt.Sprintf("%s %g%% busy, read %s/s, write %s/s", n, u, human(st["read_bytes_per_s"]), human(st["write_bytes_per_s"])))
	}
	r.Detail = detail
	switch {
	case len(names) == 0:
		r.Message = "No disk matches " + cfg.Match
	case len(busy) > 0:
		r.Message = strings.Join(busy, ", ")
	default:
		r.Message = strings.Join(parts, "; ")
	}
	return nil
}

// spoolSpec is one watched directory.
type spoolSpec struct {
	Path      string  `json:"path"`
	WarnCount int     `json:"warnCount"`
	CritCount int     `json:"critCount"`
	WarnAge   float64 `json:"warnAge"`
	CritAge   float64 `json:"critAge"`
	Recursive bool    `json:"recursive"`
}

// UnmarshalJSON accepts a bare path.
func (s *spoolSpec) UnmarshalJSON(b []byte) error {
	var p string
	if err := jsonUnmarshal(b, &p); err == nil {
		s.Path = p
		return nil
	}
	type plain spoolSpec
	return jsonUnmarshal(b, (*plain)(s))
}

// spooldir watches spool directories (outgoing queues, upload drops): too
// many files, or a file waiting too long, means the consumer is stuck.
func spooldir(e *env, r *result) error {
	cfg := struct {
		Directories []spoolSpec `json:"directories"`
		WarnCount   int         `json:"warnCount"`
		CritCount   int         `json:"critCount"`
		WarnAge     float64     `json:"warnAge"`
		CritAge     float64     `json:"critAge"`
	}{WarnCount: 100, CritCount: 1000, WarnAge: 3600}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	if len(cfg.Directories) == 0 {
		r.Message = fmt.Sprintf("No directory configured to check (add \"directories\" to %s.conf)", e.name)
		return nil
	}
	now := e.now()
	detail := map[string]any{}
	var issues, parts []string
	for i, d := range cfg.Directories {
		if d.Path == "" {
			return fmt.Errorf("directories[%d]: a directory needs a \"path\"", i)
		}
		for _, p := range []struct {
			v *int
			d int
		}{{&d.WarnCount, cfg.WarnCount}, {&d.CritCount, cfg.CritCount}} {
			if *p.v == 0 {
				*p.v = p.d
			}
		}
		if d.WarnAge == 0 {
			d.WarnAge = cfg.WarnAge
		}
		if d.CritAge == 0 {
			d.CritAge = cfg.CritAge
		}
		count := 0
		var oldest time.Time
		root := e.path(d.Path)
		err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if p == root {
					return err
				}
				return nil // a file consumed while we walk
			}
			if de.IsDir() {
				if p != root && !d.Recursive {
					return filepath.SkipDir
				}
				return nil
			}
			info, err := de.Info()
			if err != nil {
				return nil
			}
			count++
			if oldest.IsZero() || info.ModTime().Before(oldest) {
				oldest = info.ModTime()
			}
			return nil
		})
		if err != nil {
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s unreadable (%v)", d.Path, unwrapPath(err)))
			detail[d.Path] = map[string]any{"error": unwrapPath(err).Error()}
			continue
		}
		age := 0.0
		if count > 0 {
			age = max(now.Sub(oldest).Seconds(), 0)
		}
		r.metric(float64(count), "directory", d.Path, "type", "files")
		r.metric(age, "directory", d.Path, "type", "oldest_seconds")
		detail[d.Path] = map[string]any{"Files": count, "OldestSeconds": int64(age)}
		switch {
		case d.CritCount > 0 && count >= d.CritCount:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s holds %d files (>= %d)", d.Path, count, d.CritCount))
		case d.WarnCount > 0 && count >= d.WarnCount:
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s holds %d files (>= %d)", d.Path, count, d.WarnCount))
		}
		switch {
		case d.CritAge > 0 && age >= d.CritAge:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s oldest file waits for %s", d.Path, span(int64(age))))
		case d.WarnAge > 0 && age >= d.WarnAge:
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s oldest file waits for %s", d.Path, span(int64(age))))
		}
		parts = append(parts, fmt.Sprintf("%s: %d file%s", d.Path, count, plural(count)))
	}
	r.Detail = detail
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = strings.Join(parts, ", ")
	}
	return nil
}

// unwrapPath drops the fake root from a path error.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkGit reports repositories with uncommitted changes (WARN) or not in
// step with their upstream (INFO), as for /etc kept in git.
func checkGit(e *env, r *result) error {
	cfg := struct {
		Git          string       `json:"git"`
		Repositories stringsOrMap `json:"repositories"`
	}{Git: "git"}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	if len(cfg.Repositories) == 0 {
		r.Message = fmt.Sprintf("No repository configured to check (add \"repositories\" to %s.conf)", e.name)
		return nil
	}
	labels := make([]string, 0, len(cfg.Repositories))
	for l := range cfg.Repositories {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	detail := map[string]any{}
	var issues []string
	for _, label := range labels {
		dir := e.path(cfg.Repositories[label])
		res, err := e.commandOrAbsent(cfg.Git, "-C", dir, "status", "--porcelain=v1", "--branch", "--untracked-files=normal")
		if err != nil {
			return err
		}
		if res.exitCode != 0 {
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s: %s", label, strings.TrimPrefix(firstLine(res.stderr, res.stdout), "fatal: ")))
			detail[label] = map[string]any{"error": firstLine(res.stderr, res.stdout)}
			continue
		}
		var branch string
		var changed []string
		for _, l := range lines(res.stdout) {
			if strings.HasPrefix(l, "## ") {
				branch = l[3:]
				continue
			}
			if len(l) > 3 {
				changed = append(changed, l[3:])
			}
		}
		r.metric(float64(len(changed)), "repository", label, "type", "changed_files")
		detail[label] = map[string]any{"Branch": branch, "Changed": changed}
		if len(changed) > 0 {
			r.raise(statusWarn)
			shown := changed
			if len(shown) > 5 {
				shown = append(shown[:5:5], "…")
			}
			issues = append(issues, fmt.Sprintf("%s: %d uncommitted change%s (%s)", label, len(changed), plural(len(changed)), strings.Join(shown, ", ")))
		}
		if i := strings.Index(branch, " ["); i > 0 {
			r.raise(statusInfo)
			issues = append(issues, fmt.Sprintf("%s: %s", label, strings.Trim(branch[i+1:], "[]")))
		}
	}
	r.Detail = detail
	if len(issues) > 0 {
		r.Message = strings.Join(issues, "; ")
	} else {
		r.Message = fmt.Sprintf("%d repositor%s clean", len(labels), map[bool]string{true: "y", false: "ies"}[len(labels) == 1])
	}
	return nil
}
