package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

func init() {
	register("check_mdadm", mdadm)
}

var (
	mdLine   = regexp.MustCompile(`^(md\w+)\s*:\s*(\S+)\s+(?:\(\S+\)\s+)?(\S+)\s+(.*)$`)
	mdStatus = regexp.MustCompile(`\[(\d+)/(\d+)\]\s+\[([U_]+)\]`)
	mdSync   = regexp.MustCompile(`(resync|recovery|reshape|check)\s*=\s*([\d.]+)%`)
)

// mdadm reads /proc/mdstat: a degraded array (a member missing or failed)
// is CRIT, one rebuilding is WARN. No md arrays: exit 13.
func mdadm(e *env, r *result) error {
	if err := e.loadConfig(&struct{}{}); err != nil {
		return err
	}
	b, err := e.readFile("/proc/mdstat")
	if err != nil {
		return absent("no software RAID (%v)", err)
	}
	type array struct {
		State   string
		Level   string
		Devices string
		Members string `json:",omitempty"`
		Sync    string `json:",omitempty"`
	}
	arrays := map[string]*array{}
	var cur *array
	var curName string
	var issues []string
	for _, l := range strings.Split(string(b), "\n") {
		if m := mdLine.FindStringSubmatch(l); m != nil {
			curName = m[1]
			cur = &array{State: m[2], Level: m[3], Devices: m[4]}
			arrays[curName] = cur
			if strings.Contains(m[4], "(F)") {
				r.raise(statusCrit)
				issues = append(issues, curName+" has a failed device")
			}
			continue
		}
		if cur == nil {
			continue
		}
		if m := mdStatus.FindStringSubmatch(l); m != nil {
			cur.Members = m[3]
			if m[1] != m[2] || strings.Contains(m[3], "_") {
				r.raise(statusCrit)
				issues = append(issues, fmt.Sprintf("%s degraded [%s/%s] [%s]", curName, m[1], m[2], m[3]))
			}
		}
		if m := mdSync.FindStringSubmatch(l); m != nil {
			cur.Sync = m[1] + " " + m[2] + "%"
			if m[1] != "check" {
				r.raise(statusWarn)
				issues = append(issues, fmt.Sprintf("%s %s at %s%%", curName, m[1], m[2]))
			}
		}
	}
	if len(arrays) == 0 {
		return absent("no md array in /proc/mdstat")
	}
	names := make([]string, 0, len(arrays))
	for n, a := range arrays {
		names = append(names, n)
		ok := 1.0
		if a.State != "active" || strings.Contains(a.Members, "_") {
			ok = 0
		}
		r.metric(ok, "array", n)
		if a.State != "active" && !strings.Contains(strings.Join(issues, " "), n+" ") {
			r.raise(statusCrit)
			issues = append(issues, n+" is "+a.State)
		}
	}
	sort.Strings(names)
	r.Detail = arrays
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = fmt.Sprintf("%d md array%s OK: %s", len(names), plural(len(names)), strings.Join(names, ", "))
	}
	return nil
}
