package probe

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxInterval bounds interval directory names: anything longer than a year
// is a typo, and it keeps interval arithmetic far from overflow.
const maxInterval = 366 * 24 * time.Hour

// candidate is a runnable probe found on disk.
type candidate struct {
	name     string
	path     string // Dir/<seconds>/NAME, symlinks not resolved (the link is the identity)
	interval time.Duration
	also     []time.Duration // other intervals the same name appears in (ignored)
}

// problem is something an operator should hear about once, not once per scan.
type problem struct {
	msg string
	kv  []any
}

// scanResult is one full look at the probes directory.
type scanResult struct {
	probes map[string]candidate
	// dirs are the interval directories seen, to be watched.
	dirs []string
	// unreadable holds interval directories that exist but could not be
	// listed; probes previously found there are kept rather than removed
	// on what may be a transient error.
	unreadable map[string]bool
	// problems keyed by a stable identity so each is logged once.
	problems map[string]problem
	// rootErr is set when root itself could not be listed for a reason
	// other than not existing; the caller keeps its current state.
	rootErr error
}

// scan lists root/<seconds>/NAME. It never fails as a whole on one bad
// entry: bad entries become problems and are skipped.
func scan(root string) scanResult {
	res := scanResult{
		probes:     map[string]candidate{},
		unreadable: map[string]bool{},
		problems:   map[string]problem{},
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// No directory, no probes: that is a state, not a failure,
			// and it is how "the operator removed the directory" looks.
			res.problems["root-missing|"+root] = problem{"probes directory does not exist; no probes will run", []any{"dir", root}}
			return res
		}
		res.rootErr = err
		return res
	}

	type idir struct {
		path     string
		interval time.Duration
	}
	var dirs []idir
	for _, e := range ents {
		name := e.Name()
		secs, ok := intervalName(name)
		if !ok {
			continue // examples/, lib/, README...: not interval directories
		}
		p := filepath.Join(root, name)
		fi, err := os.Stat(p) // follow a symlinked interval directory
		if err != nil || !fi.IsDir() {
			continue
		}
		iv := time.Duration(secs) * time.Second
		if secs <= 0 || iv > maxInterval {
			res.problems["interval|"+p] = problem{"ignoring interval directory: interval must be between 1 second and 366 days", []any{"dir", p}}
			continue
		}
		dirs = append(dirs, idir{p, iv})
	}
	// Smallest interval first, so a name found in several directories is
	// kept at its smallest interval. Ties ("5" and "05") by path, stably.
	sort.Slice(dirs, func(i, j int) bool {
		if dirs[i].interval != dirs[j].interval {
			return dirs[i].interval < dirs[j].interval
		}
		return dirs[i].path < dirs[j].path
	})

	for _, d := range dirs {
		res.dirs = append(res.dirs, d.path)
		ents, err := os.ReadDir(d.path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				res.unreadable[d.path] = true
				res.problems["unreadable|"+d.path] = problem{"cannot list interval directory; keeping its probes as they were", []any{"dir", d.path, "err", err}}
			}
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if ignoredName(name) {
				continue
			}
			p := filepath.Join(d.path, name)
			if reason, err := runnable(p); reason != "" {
				kv := []any{"probe", name, "path", p}
				if err != nil {
					kv = append(kv, "err", err)
				}
				res.problems[reason+"|"+p] = problem{"skipping probe: " + reason, kv}
				continue
			}
			if c, dup := res.probes[name]; dup {
				c.also = append(c.also, d.interval)
				res.probes[name] = c
				continue
			}
			res.probes[name] = candidate{name: name, path: p, interval: d.interval}
		}
	}
	return res
}

// intervalName parses an interval directory name: ASCII digits only, so
// "60" counts and "60.old", "-5" or "examples" do not.
func intervalName(name string) (int64, bool) {
	if name == "" || len(name) > 10 {
		return 0, false
	}
	for _, r := range name {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return n, err == nil
}

// ignoredName is true for files that are never probes: hidden files (also
// how tools write a file before renaming it into place), editor leftovers
// and package-manager backups that would otherwise run as a second copy
// of a probe.
func ignoredName(name string) bool {
	switch {
	case strings.HasPrefix(name, "."),
		strings.HasSuffix(name, "~"),
		strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"),
		strings.HasSuffix(name, ".swp"), strings.HasSuffix(name, ".swo"),
		strings.Contains(name, ".dpkg-"),
		strings.HasSuffix(name, ".rpmnew"), strings.HasSuffix(name, ".rpmsave"), strings.HasSuffix(name, ".rpmorig"),
		strings.HasSuffix(name, ".ucf-old"), strings.HasSuffix(name, ".ucf-dist"):
		return true
	}
	return false
}

// runnable says why p cannot be run as a probe ("" when it can): it must
// be, or link to, a regular file this process may execute.
func runnable(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "broken symlink", nil
		}
		return "cannot stat", err
	}
	if fi.IsDir() {
		return "is a directory", nil
	}
	if !fi.Mode().IsRegular() {
		return "not a regular file", nil
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return "not executable", nil
	}
	if err := syscall.Access(p, 1 /* X_OK */); err != nil {
		return "not executable by the daemon's user", err
	}
	return "", nil
}
