package main

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func init() {
	register("lm-sensors", lmSensors)
	register("smart", smart)
	register("check_raid_megaraid", megaraid)
	register("check_raid_lsi", raidLSI)
}

// sensorRule is the original's per-label rule ("metrics": {regex: rule}).
type sensorRule struct {
	Warn     *float64 `json:"warn"`
	Crit     *float64 `json:"crit"`
	LowWarn  *float64 `json:"low_warn"`
	LowCrit  *float64 `json:"low_crit"`
	NotZero  any      `json:"not_zero"`
	Positive any      `json:"positive"`
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	}
	return false
}

// lmSensors reads `sensors -u`: a reading past its chip's own crit limit
// or with an alarm set is CRIT, past max WARN; rules in "metrics" (label
// regex -> warn, crit, low_warn, low_crit, not_zero) add limits of the
// operator's. No sensors command or no sensor: exit 13.
func lmSensors(e *env, r *result) error {
	cfg := struct {
		Sensors string                `json:"sensors"`
		Metrics map[string]sensorRule `json:"metrics"`
	}{Sensors: "sensors"}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	type rule struct {
		re *regexp.Regexp
		sensorRule
	}
	var rules []rule
	keys := make([]string, 0, len(cfg.Metrics))
	for k := range cfg.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		re, err := regexp.Compile("^(?:" + k + ")$")
		if err != nil {
			return fmt.Errorf("metrics %q: %w", k, err)
		}
		rules = append(rules, rule{re, cfg.Metrics[k]})
	}
	res, err := e.commandOrAbsent(cfg.Sensors, "-u")
	if err != nil {
		return err
	}
	if strings.Contains(string(res.stderr)+string(res.stdout), "No sensors found") {
		return absent("no sensors found")
	}
	type reading struct {
		chip, label, kind string
		input             float64
		limits            map[string]float64
	}
	var readings []*reading
	var chip, label string
	var cur *reading
	for _, l := range strings.Split(string(res.stdout), "\n") {
		switch {
		case strings.TrimSpace(l) == "":
			chip, cur = "", nil
		case chip == "":
			chip = strings.TrimSpace(l)
		case strings.HasPrefix(l, "Adapter:"):
		case !strings.HasPrefix(l, " ") && strings.HasSuffix(l, ":"):
			label, cur = strings.TrimSuffix(l, ":"), nil
		case strings.HasPrefix(l, " "):
			k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				continue
			}
			kind, field, ok := strings.Cut(k, "_")
			if !ok {
				continue
			}
			kind = strings.TrimRight(kind, "0123456789")
			if field == "input" {
				cur = &reading{chip: chip, label: label, kind: kind, input: f, limits: map[string]float64{}}
				readings = append(readings, cur)
			} else if cur != nil {
				cur.limits[field] = f
			}
		}
	}
	if len(readings) == 0 {
		return absent("sensors -u reported no reading (exit %d)", res.exitCode)
	}
	unit := map[string]string{"temp": "°C", "in": "V", "fan": " RPM", "power": "W", "curr": "A"}
	detail := map[string]any{}
	var issues []string
	for _, s := range readings {
		name := s.label
		show := fmt.Sprintf("%s %g%s", name, s.input, unit[s.kind])
		detail[s.chip+"/"+name] = s.input
		r.metric(s.input, "chip", s.chip, "sensor", name, "type", s.kind)
		alarm := s.limits["alarm"] != 0 || s.limits["crit_alarm"] != 0
		lim := func(k string) (float64, bool) { v, ok := s.limits[k]; return v, ok && v != 0 }
		switch {
		case alarm:
			r.raise(statusCrit)
			issues = append(issues, show+" (alarm)")
		case func() bool { c, ok := lim("crit"); return ok && s.kind == "temp" && s.input >= c }():
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s (>= crit %g)", show, s.limits["crit"]))
		case func() bool { m, ok := lim("max"); return ok && s.kind == "temp" && s.input >= m }():
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s (>= max %g)", show, s.limits["max"]))
		}
		for _, ru := range rules {
			if !ru.re.MatchString(name) {
				continue
			}
			switch {
			case ru.Crit != nil && s.input >= *ru.Crit:
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s (>= %g)", show, *ru.Crit))
			case ru.Warn != nil && s.input >= *ru.Warn:
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s (>= %g)", show, *ru.Warn))
			case ru.LowCrit != nil && s.input <= *ru.LowCrit:
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s (<= %g)", show, *ru.LowCrit))
			case ru.LowWarn != nil && s.input <= *ru.LowWarn:
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s (<= %g)", show, *ru.LowWarn))
			case truthy(ru.NotZero) && s.input == 0:
				r.raise(statusCrit)
				issues = append(issues, show+" (stopped)")
			case truthy(ru.Positive) && s.input < 0:
				r.raise(statusWarn)
				issues = append(issues, show+" (negative: sensor fault)")
			}
			break
		}
	}
	r.Detail = detail
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
		return nil
	}
	hottest, hv := "", -1000.0
	for _, s := range readings {
		if s.kind == "temp" && s.input > hv {
			hottest, hv = s.label, s.input
		}
	}
	r.Message = fmt.Sprintf("%d sensor%s OK", len(readings), plural(len(readings)))
	if hottest != "" {
		r.Message += fmt.Sprintf(", hottest %s at %g°C", hottest, hv)
	}
	return nil
}

// smartAttr is an attribute rule: warn/crit on the raw value.
type smartAttr struct {
	Warn *float64 `json:"warn"`
	Crit *float64 `json:"crit"`
}

var smartDefaultAttrs = map[string]smartAttr{
	"Raw_Read_Error_Rate": {}, "Reallocated_Sector_Ct": {}, "Seek_Error_Rate": {}, "Power_On_Hours": {},
	"Spin_Retry_Count": {}, "Temperature_Celsius": {Warn: ptr(45), Crit: ptr(50)},
	"Current_Pending_Sector": {}, "Offline_Uncorrectable": {}, "UDMA_CRC_Error_Count": {},
}

func ptr(f float64) *float64 { return &f }

// smart asks smartctl for every device of `smartctl --scan`: a failed
// health self-assessment or an attribute past its vendor threshold
// (WHEN_FAILED set) is CRIT; "attributes" adds warn/crit on raw values
// (Temperature_Celsius 45/50 by default). No smartctl or no disk: exit 13.
func smart(e *env, r *result) error {
	cfg := struct {
		Smartctl   string               `json:"smartctl"`
		Infos      []string             `json:"infos"`
		Attributes map[string]smartAttr `json:"attributes"`
	}{Smartctl: "smartctl", Infos: []string{"Device Model", "Serial Number", "User Capacity", "Sector Size"}}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	// The operator's "attributes" replace the watched set (decoding into
	// the defaults would merge, and change them for the next run in tests).
	if cfg.Attributes == nil {
		cfg.Attributes = smartDefaultAttrs
	}
	scan, err := e.commandOrAbsent(cfg.Smartctl, "--scan")
	if err != nil {
		return err
	}
	type dev struct{ path, typ string }
	var devs []dev
	for _, l := range lines(scan.stdout) {
		l, _, _ = strings.Cut(l, "#")
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		d := dev{path: f[0]}
		if len(f) >= 3 && f[1] == "-d" {
			d.typ = f[2]
		}
		devs = append(devs, d)
	}
	if len(devs) == 0 {
		return absent("smartctl --scan found no device")
	}
	detail := map[string]any{}
	var issues, ok []string
	denied := 0
	for _, d := range devs {
		args := []string{"-H", "-i", "-A"}
		if d.typ != "" {
			args = append(args, "-d", d.typ)
		}
		res, err := e.command(cfg.Smartctl, append(args, d.path)...)
		if err != nil {
			return err
		}
		// Bits 0 and 1 of the exit status: the command line or the device
		// open failed; the output then holds no SMART data.
		if res.exitCode&3 != 0 {
			if strings.Contains(string(res.stdout)+string(res.stderr), "Permission denied") {
				denied++
			}
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s: cannot read SMART data (%s)", d.path, lastLine(res.stdout)))
			continue
		}
		info := map[string]any{}
		health := ""
		inTable := false
		for _, l := range lines(res.stdout) {
			if k, v, found := strings.Cut(l, ":"); found && !inTable {
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				if contains(cfg.Infos, k) {
					info[k] = v
				}
				if strings.Contains(k, "overall-health") || k == "SMART Health Status" {
					health = v
				}
			}
			if strings.HasPrefix(l, "ID# ATTRIBUTE_NAME") {
				inTable = true
				continue
			}
			if !inTable {
				continue
			}
			f := strings.Fields(l)
			if len(f) < 10 {
				inTable = false
				continue
			}
			name, whenFailed := f[1], f[8]
			raw, perr := strconv.ParseFloat(f[9], 64)
			rule, watched := cfg.Attributes[name]
			if whenFailed != "-" {
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s: %s failing (%s)", d.path, name, whenFailed))
			}
			if !watched || perr != nil {
				continue
			}
			info[name] = raw
			r.metric(raw, "device", d.path, "attribute", name)
			switch {
			case rule.Crit != nil && raw >= *rule.Crit:
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s: %s %g (>= %g)", d.path, name, raw, *rule.Crit))
			case rule.Warn != nil && raw >= *rule.Warn:
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s: %s %g (>= %g)", d.path, name, raw, *rule.Warn))
			}
		}
		info["Health"] = health
		detail[d.path] = info
		switch {
		case health == "PASSED" || health == "OK":
			ok = append(ok, d.path)
		case health == "":
			// No health line: a USB bridge hiding SMART, or a virtual disk.
		default:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s: health %s", d.path, health))
		}
	}
	// smartctl must open the disks: run as an unprivileged daemon user,
	// every device is refused. Disable (exit 12) rather than WARN forever
	// on every host of the default set; the reason goes to the log.
	if denied == len(devs) {
		return &exitError{code: exitDisable, why: fmt.Sprintf("smartctl may not open any disk as uid %d: SMART needs root", os.Getuid())}
	}
	r.Detail = detail
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = fmt.Sprintf("%d disk%s healthy: %s", len(ok), plural(len(ok)), strings.Join(ok, ", "))
	}
	return nil
}

func lastLine(b []byte) string {
	l := lines(b)
	if len(l) == 0 {
		return "no output"
	}
	return strings.TrimSpace(l[len(l)-1])
}

// megacliNames are the names MegaCLI is installed under.
var megacliNames = []string{"megacli", "MegaCli64", "MegaCli", "/opt/MegaRAID/MegaCli/MegaCli64"}

// megaraid reads MegaCLI's logical and physical drive lists: a logical
// drive not Optimal is CRIT, a physical drive failed CRIT, rebuilding or
// with media errors WARN. No MegaCLI or no controller: exit 13.
func megaraid(e *env, r *result) error {
	cfg := struct {
		Megacli string   `json:"megacli"`
		Volumes []string `json:"volumes"`
	}{}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	tool := cfg.Megacli
	if tool == "" {
		for _, n := range megacliNames {
			if _, err := e.lookPath(n); err == nil {
				tool = n
				break
			}
		}
		if tool == "" {
			return absent("MegaCLI not installed")
		}
	}
	ld, err := e.commandOrAbsent(tool, "-LDInfo", "-Lall", "-aALL", "-NoLog")
	if err != nil {
		return err
	}
	out := string(ld.stdout)
	if strings.Contains(out, "Controller Count: 0") || strings.Contains(out, "No Virtual Drive Configured") ||
		(!strings.Contains(out, "Virtual Drive:") && !strings.Contains(out, "Virtual Disk:")) {
		return absent("no MegaRAID controller or virtual drive")
	}
	volumes := map[string]string{}
	adapter, vd := "", ""
	for _, l := range lines(ld.stdout) {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "Adapter"):
			f := strings.Fields(t)
			if len(f) > 1 {
				adapter = strings.TrimSuffix(f[1], ":")
			}
		case strings.HasPrefix(t, "Virtual Drive:") || strings.HasPrefix(t, "Virtual Disk:"):
			f := strings.Fields(t)
			vd = "a" + adapter + "/vd" + f[2]
		case strings.HasPrefix(t, "State") && vd != "":
			_, v, _ := strings.Cut(t, ":")
			volumes[vd] = strings.TrimSpace(v)
		}
	}
	names := make([]string, 0, len(volumes))
	for n := range volumes {
		if len(cfg.Volumes) == 0 || contains(cfg.Volumes, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var issues []string
	for _, n := range names {
		st := volumes[n]
		good := 1.0
		if st != "Optimal" {
			good = 0
			r.raise(statusCrit)
			issues = append(issues, n+" "+st)
		}
		r.metric(good, "volume", n)
	}
	pd, err := e.command(tool, "-PDList", "-aALL", "-NoLog")
	if err != nil {
		return err
	}
	disks := map[string]string{}
	slot := ""
	for _, l := range lines(pd.stdout) {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "Slot Number":
			slot = "slot " + v
		case "Media Error Count":
			if n, _ := strconv.Atoi(v); n > 0 && slot != "" {
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s: %d media errors", slot, n))
			}
		case "Firmware state":
			disks[slot] = v
			switch {
			case strings.HasPrefix(v, "Online"), strings.HasPrefix(v, "Hotspare"), strings.HasPrefix(v, "JBOD"), strings.HasPrefix(v, "Unconfigured(good)"):
			case strings.HasPrefix(v, "Rebuild"):
				r.raise(statusWarn)
				issues = append(issues, slot+" rebuilding")
			default:
				r.raise(statusCrit)
				issues = append(issues, slot+" "+v)
			}
		}
	}
	r.Detail = map[string]any{"Volumes": volumes, "Disks": disks}
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = fmt.Sprintf("%d volume%s Optimal, %d disk%s online", len(names), plural(len(names)), len(disks), plural(len(disks)))
	}
	return nil
}

// raidLSI reads LSI SAS HBAs' integrated RAID through sas2ircu (or
// sas3ircu): a volume not Optimal is CRIT (Degraded, Failed) or WARN
// (resyncing). No tool or no controller: exit 13.
func raidLSI(e *env, r *result) error {
	cfg := struct {
		Tool string `json:"sas2ircu"`
	}{}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	tool := cfg.Tool
	if tool == "" {
		for _, n := range []string{"sas2ircu", "sas3ircu"} {
			if _, err := e.lookPath(n); err == nil {
				tool = n
				break
			}
		}
		if tool == "" {
			return absent("neither sas2ircu nor sas3ircu installed")
		}
	}
	list, err := e.commandOrAbsent(tool, "LIST")
	if err != nil {
		return err
	}
	var ctrls []string
	row := regexp.MustCompile(`^\s+(\d+)\s+\S+\s+[0-9a-fA-F]+h\s`)
	for _, l := range lines(list.stdout) {
		if m := row.FindStringSubmatch(l); m != nil {
			ctrls = append(ctrls, m[1])
		}
	}
	if len(ctrls) == 0 {
		return absent("%s LIST found no controller", tool)
	}
	volumes := map[string]string{}
	var issues []string
	for _, c := range ctrls {
		st, err := e.command(tool, c, "STATUS")
		if err != nil {
			return err
		}
		vol := ""
		for _, l := range lines(st.stdout) {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "IR Volume") {
				vol = "c" + c + "/" + strings.TrimSpace(strings.TrimPrefix(t, "IR Volume"))
				continue
			}
			k, v, ok := strings.Cut(t, ":")
			if !ok || vol == "" {
				continue
			}
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			switch k {
			case "Volume state":
				volumes[vol] = v
				good := 1.0
				switch {
				case v == "Optimal":
				case strings.HasPrefix(v, "Degraded"), strings.HasPrefix(v, "Failed"), strings.HasPrefix(v, "Missing"), strings.HasPrefix(v, "Offline"):
					good = 0
					r.raise(statusCrit)
					issues = append(issues, "volume "+vol+" "+v)
				default:
					good = 0
					r.raise(statusWarn)
					issues = append(issues, "volume "+vol+" "+v)
				}
				r.metric(good, "volume", vol)
			case "Current operation":
				if v != "None" {
					issues = append(issues, "volume "+vol+": "+v)
					r.raise(statusWarn)
				}
			}
		}
	}
	if len(volumes) == 0 {
		return absent("no RAID volume on %d controller%s", len(ctrls), plural(len(ctrls)))
	}
	r.Detail = volumes
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = fmt.Sprintf("%d volume%s Optimal", len(volumes), plural(len(volumes)))
	}
	return nil
}
