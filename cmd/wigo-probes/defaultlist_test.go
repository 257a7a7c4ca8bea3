package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultList checks probes/default.list, which the package seeds the
// probes directory from: every entry is a probe of this binary at a sane
// interval, once, and none of the probes that only check what the operator
// configures (they would report "nothing configured" on every host).
func TestDefaultList(t *testing.T) {
	t.Parallel()
	f, err := os.Open("../../probes/default.list")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		interval, name, ok := strings.Cut(l, "/")
		sec, err := strconv.Atoi(interval)
		if !ok || err != nil || sec < 10 || sec > 86400 {
			t.Errorf("default.list:%d: %q is not <seconds>/<name>", n, l)
			continue
		}
		if _, ok := registry[name]; !ok {
			t.Errorf("default.list:%d: %q is not a wigo-probes probe", n, name)
		}
		if seen[name] {
			t.Errorf("default.list:%d: %q listed twice", n, name)
		}
		seen[name] = true
	}
	for _, configuredOnly := range []string{"check_http", "check_process", "check_git", "spooldir"} {
		if seen[configuredOnly] {
			t.Errorf("default.list links %s, which checks nothing until configured", configuredOnly)
		}
	}
	if len(seen) < 15 {
		t.Errorf("default.list has %d probes", len(seen))
	}
}
