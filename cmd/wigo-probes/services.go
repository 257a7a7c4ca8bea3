package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func init() {
	register("check_mailq", mailq)
	register("check_service", service)
	register("supervisord", supervisord)
	register("needrestart", needrestart)
	register("packages-apt", packagesApt)
	register("packages-yum", packagesYum)
}

// lines splits command output into non-empty trimmed lines.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r \t"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// commandOrAbsent runs prog; a prog not installed ends the probe with exit
// 13 (its subject is not on this host).
func (e *env) commandOrAbsent(prog string, args ...string) (cmdResult, error) {
	res, err := e.command(prog, args...)
	if errors.Is(err, errNotInstalled) {
		return res, absent("%v", err)
	}
	return res, err
}

var (
	postfixQueue = regexp.MustCompile(`in (\d+) Requests?\.`)
	sendmailQ    = regexp.MustCompile(`Total requests: (\d+)`)
	eximQueueID  = regexp.MustCompile(`^\s*\d+[smhdw]\s+\S+\s+[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}\b`)
)

// mailq counts the mail queue (postfix, sendmail, exim and nullmailer
// style output) against warning and critical sizes.
func mailq(e *env, r *result) error {
	cfg := struct {
		Mailq    string  `json:"mailq"`
		Warning  float64 `json:"warning"`
		Critical float64 `json:"critical"`
	}{"mailq", 25, 100}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	res, err := e.commandOrAbsent(cfg.Mailq)
	if err != nil {
		return err
	}
	out := string(res.stdout)
	n := -1
	switch {
	case strings.Contains(out, "queue is empty"):
		n = 0
	case postfixQueue.MatchString(out):
		n, _ = strconv.Atoi(postfixQueue.FindStringSubmatch(out)[1])
	case sendmailQ.MatchString(out):
		n, _ = strconv.Atoi(sendmailQ.FindStringSubmatch(out)[1])
	case res.exitCode == 0:
		// exim lists one "age size id <sender>" line per message.
		n = 0
		for _, l := range lines(res.stdout) {
			if eximQueueID.MatchString(l) {
				n++
			}
		}
	}
	if n < 0 {
		return fmt.Errorf("%s exited %d: %s", cfg.Mailq, res.exitCode, firstLine(res.stderr, res.stdout))
	}
	r.Value = n
	r.metric(float64(n), "type", "queue_size")
	r.Detail = map[string]any{"QueueSize": n}
	r.Message = fmt.Sprintf("%d message%s in the mail queue", n, plural(n))
	switch {
	case float64(n) >= cfg.Critical:
		r.raise(statusCrit)
		r.Message += fmt.Sprintf(" (>= %g)", cfg.Critical)
	case float64(n) >= cfg.Warning:
		r.raise(statusWarn)
		r.Message += fmt.Sprintf(" (>= %g)", cfg.Warning)
	}
	return nil
}

// firstLine is the first non-empty line of the first non-empty output.
func firstLine(outs ...[]byte) string {
	for _, o := range outs {
		if l := lines(o); len(l) > 0 {
			return strings.TrimSpace(l[0])
		}
	}
	return "no output"
}

// stringsOrMap decodes a list of names or the original's {label: name} map.
type stringsOrMap map[string]string

// UnmarshalJSON accepts ["a", "b"] as {"a": "a", "b": "b"}.
func (s *stringsOrMap) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*s = map[string]string{}
		for _, x := range list {
			(*s)[x] = x
		}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = m
	return nil
}

// service checks configured systemd units are active and reports any
// failed unit. Without systemctl (no systemd): exit 13.
func service(e *env, r *result) error {
	cfg := struct {
		Services     stringsOrMap `json:"services"`
		IgnoreFailed []string     `json:"ignoreFailed"`
	}{}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	states := map[string]string{}
	labels := make([]string, 0, len(cfg.Services))
	for l := range cfg.Services {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	var down []string
	for _, label := range labels {
		unit := cfg.Services[label]
		res, err := e.commandOrAbsent("systemctl", "is-active", unit)
		if err != nil {
			return err
		}
		st := firstLine(res.stdout)
		states[label] = st
		up := 0.0
		if st == "active" {
			up = 1
		} else {
			r.raise(statusCrit)
			down = append(down, fmt.Sprintf("%s (%s)", label, st))
		}
		r.metric(up, "service", label)
	}
	res, err := e.commandOrAbsent("systemctl", "list-units", "--state=failed", "--no-legend", "--plain", "--no-pager")
	if err != nil {
		return err
	}
	var failed []string
	for _, l := range lines(res.stdout) {
		f := strings.Fields(strings.TrimLeft(l, "● *"))
		if len(f) == 0 || contains(cfg.IgnoreFailed, f[0]) || cfg.Services[f[0]] != "" || contains(mapValues(cfg.Services), f[0]) {
			continue
		}
		failed = append(failed, f[0])
	}
	if len(failed) > 0 {
		r.raise(statusWarn)
	}
	r.metric(float64(len(failed)), "type", "failed_units")
	r.Detail = map[string]any{"Services": states, "FailedUnits": failed}
	var msg []string
	if len(down) > 0 {
		msg = append(msg, "not active: "+strings.Join(down, ", "))
	}
	if len(failed) > 0 {
		msg = append(msg, "failed units: "+strings.Join(failed, ", "))
	}
	if len(msg) > 0 {
		r.Message = strings.Join(msg, "; ")
	} else {
		r.Message = fmt.Sprintf("%d configured service%s active, no failed unit", len(labels), plural(len(labels)))
	}
	return nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// compileAll compiles a list of regexes, naming the option on error.
func compileAll(option string, pats []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(pats))
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", option, i, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// filter applies the original's include/exclude regex lists to a name.
type filter struct {
	include, exclude []*regexp.Regexp
}

func newFilter(include, exclude []string) (filter, error) {
	in, err := compileAll("include", include)
	if err != nil {
		return filter{}, err
	}
	ex, err := compileAll("exclude", exclude)
	return filter{in, ex}, err
}

func (f filter) keep(name string) bool {
	if len(f.include) > 0 && !anyMatch(f.include, name) {
		return false
	}
	return !anyMatch(f.exclude, name)
}

// supervisord reads `supervisorctl status`: STOPPED is WARN, any other
// state but RUNNING is CRIT. Without supervisorctl: exit 13.
func supervisord(e *env, r *result) error {
	cfg := struct {
		Supervisorctl string   `json:"supervisorctl"`
		Include       []string `json:"include"`
		Exclude       []string `json:"exclude"`
	}{Supervisorctl: "supervisorctl"}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	f, err := newFilter(cfg.Include, cfg.Exclude)
	if err != nil {
		return err
	}
	res, err := e.commandOrAbsent(cfg.Supervisorctl, "status")
	if err != nil {
		return err
	}
	states := map[string]string{}
	var bad []string
	known := map[string]bool{"RUNNING": true, "STOPPED": true, "STARTING": true, "BACKOFF": true, "STOPPING": true, "EXITED": true, "FATAL": true, "UNKNOWN": true}
	for _, l := range lines(res.stdout) {
		fl := strings.Fields(l)
		if len(fl) < 2 || !known[fl[1]] {
			continue
		}
		name, st := fl[0], fl[1]
		if !f.keep(name) {
			continue
		}
		states[name] = st
		up := 0.0
		switch st {
		case "RUNNING":
			up = 1
		case "STOPPED", "STARTING":
			r.raise(statusWarn)
			bad = append(bad, name+" "+st)
		default:
			r.raise(statusCrit)
			bad = append(bad, name+" "+st)
		}
		r.metric(up, "program", name)
	}
	if len(states) == 0 && res.exitCode != 0 {
		// supervisord itself is down or its socket unreachable.
		r.raise(statusCrit)
		r.Message = "supervisord not reachable: " + firstLine(res.stdout, res.stderr)
		return nil
	}
	sort.Strings(bad)
	r.Detail = states
	if len(bad) > 0 {
		r.Message = strings.Join(bad, ", ")
	} else {
		r.Message = fmt.Sprintf("%d program%s RUNNING", len(states), plural(len(states)))
	}
	return nil
}

// needrestart reads `needrestart -b`: a pending kernel upgrade raises
// kernel_status (WARN), services still running old libraries raise
// services_status (INFO), as the original's options say.
func needrestart(e *env, r *result) error {
	cfg := struct {
		Needrestart    string   `json:"needrestart"`
		Ignore         []string `json:"ignore"`
		KernelStatus   int      `json:"kernel_status"`
		ServicesStatus int      `json:"services_status"`
	}{Needrestart: "needrestart", KernelStatus: statusWarn, ServicesStatus: statusInfo}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	res, err := e.commandOrAbsent(cfg.Needrestart, "-b")
	if err != nil {
		return err
	}
	var kcur, kexp, ksta string
	var svcs []string
	seen := false
	for _, l := range lines(res.stdout) {
		k, v, ok := strings.Cut(l, ":")
		if !ok || !strings.HasPrefix(k, "NEEDRESTART-") {
			continue
		}
		seen = true
		v = strings.TrimSpace(v)
		switch k {
		case "NEEDRESTART-KCUR":
			kcur = v
		case "NEEDRESTART-KEXP":
			kexp = v
		case "NEEDRESTART-KSTA":
			ksta = v
		case "NEEDRESTART-SVC":
			if !contains(cfg.Ignore, v) {
				svcs = append(svcs, v)
			}
		}
	}
	if !seen {
		return fmt.Errorf("%s -b exited %d without batch output: %s", cfg.Needrestart, res.exitCode, firstLine(res.stderr, res.stdout))
	}
	var msg []string
	// KSTA: 0 unknown, 1 running the newest, 2 ABI-compatible upgrade, 3 new version.
	if ksta == "2" || ksta == "3" {
		r.raise(cfg.KernelStatus)
		msg = append(msg, fmt.Sprintf("reboot needed: running kernel %s, %s installed", kcur, kexp))
	}
	if len(svcs) > 0 {
		r.raise(cfg.ServicesStatus)
		msg = append(msg, fmt.Sprintf("%d service%s to restart: %s", len(svcs), plural(len(svcs)), strings.Join(svcs, ", ")))
	}
	r.metric(float64(len(svcs)), "type", "services")
	kernelPending := 0.0
	if ksta == "2" || ksta == "3" {
		kernelPending = 1
	}
	r.metric(kernelPending, "type", "kernel")
	r.Detail = map[string]any{"KernelRunning": kcur, "KernelExpected": kexp, "KernelStatus": ksta, "Services": svcs}
	if len(msg) > 0 {
		r.Message = strings.Join(msg, "; ")
	} else {
		r.Message = "Nothing to restart, running kernel " + kcur
	}
	return nil
}

// packagesApt simulates an upgrade: pending updates are INFO, security
// updates WARN. apt warnings not matched by lines_to_ignore are WARN too
// (a broken sources list means no more updates).
func packagesApt(e *env, r *result) error {
	cfg := struct {
		LinesToIgnore []string `json:"lines_to_ignore"`
	}{}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	ignore, err := compileAll("lines_to_ignore", cfg.LinesToIgnore)
	if err != nil {
		return err
	}
	res, err := e.commandOrAbsent("apt-get", "-s", "-q", "-o", "Debug::NoLocking=1", "dist-upgrade")
	if err != nil {
		return err
	}
	if res.exitCode != 0 {
		return fmt.Errorf("apt-get -s dist-upgrade exited %d: %s", res.exitCode, firstLine(res.stderr, res.stdout))
	}
	var all, security []string
	for _, l := range lines(res.stdout) {
		if !strings.HasPrefix(l, "Inst ") {
			continue
		}
		f := strings.Fields(l)
		all = append(all, f[1])
		if strings.Contains(l, "-security") || strings.Contains(l, "Security:") {
			security = append(security, f[1])
		}
	}
	var warnings []string
	for _, l := range lines(res.stderr) {
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(l, "W: "), "E: "))
		if !anyMatch(ignore, t) {
			warnings = append(warnings, t)
		}
	}
	r.metric(float64(len(all)), "type", "updates")
	r.metric(float64(len(security)), "type", "security")
	r.Detail = map[string]any{"Updates": all, "Security": security, "Warnings": warnings}
	var msg []string
	if len(security) > 0 {
		r.raise(statusWarn)
		msg = append(msg, fmt.Sprintf("%d security update%s: %s", len(security), plural(len(security)), strings.Join(security, ", ")))
	}
	if n := len(all) - len(security); n > 0 {
		r.raise(statusInfo)
		msg = append(msg, fmt.Sprintf("%d other update%s", n, plural(n)))
	}
	if len(warnings) > 0 {
		r.raise(statusWarn)
		msg = append(msg, "apt says: "+strings.Join(warnings, " / "))
	}
	if len(msg) == 0 {
		r.Message = "No pending update"
		return nil
	}
	r.Message = strings.Join(msg, "; ")
	return nil
}

// packagesYum asks yum (or dnf) check-update, which exits 100 when updates
// are pending. Updates are INFO, security updates (--security) WARN.
func packagesYum(e *env, r *result) error {
	if err := e.loadConfig(&struct{}{}); err != nil {
		return err
	}
	tool := "yum"
	if _, err := e.lookPath(tool); err != nil {
		tool = "dnf"
	}
	list := func(args ...string) ([]string, error) {
		res, err := e.commandOrAbsent(tool, append([]string{"-q", "-C", "check-update"}, args...)...)
		if err != nil {
			return nil, err
		}
		if res.exitCode != 0 && res.exitCode != 100 {
			return nil, fmt.Errorf("%s check-update exited %d: %s", tool, res.exitCode, firstLine(res.stderr, res.stdout))
		}
		var pkgs []string
		for _, l := range lines(res.stdout) {
			f := strings.Fields(l)
			// "name.arch  version  repo"; "Obsoleting Packages" ends the list.
			if strings.HasPrefix(l, "Obsoleting") {
				break
			}
			if len(f) == 3 && strings.Contains(f[0], ".") && !strings.HasPrefix(l, " ") {
				pkgs = append(pkgs, f[0])
			}
		}
		return pkgs, nil
	}
	all, err := list()
	if err != nil {
		return err
	}
	security, err := list("--security")
	if err != nil {
		return err
	}
	r.metric(float64(len(all)), "type", "updates")
	r.metric(float64(len(security)), "type", "security")
	r.Detail = map[string]any{"Updates": all, "Security": security}
	var msg []string
	if len(security) > 0 {
		r.raise(statusWarn)
		msg = append(msg, fmt.Sprintf("%d security update%s: %s", len(security), plural(len(security)), strings.Join(security, ", ")))
	}
	if n := len(all) - len(security); n > 0 {
		r.raise(statusInfo)
		msg = append(msg, fmt.Sprintf("%d other update%s", n, plural(n)))
	}
	if len(msg) == 0 {
		r.Message = "No pending update"
		return nil
	}
	r.Message = strings.Join(msg, "; ")
	return nil
}
