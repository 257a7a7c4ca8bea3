// Package testbin builds the project's binaries for tests that run them for
// real (plugins under the real manager, daemons as processes). Each binary
// is built once per test process, whatever the number of tests asking for
// it, into one temporary directory; a TestMain that calls Cleanup after
// m.Run removes it, otherwise it stays in os.TempDir until the machine
// cleans it.
//
// It lives under core/ because the top level of the tree is fixed; only
// tests import it.
package testbin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// pluginsPkg is every plugin binary of the tree.
const pluginsPkg = "github.com/wigo-project/wigo/plugins/..."

var (
	mu     sync.Mutex
	root   string
	builds = map[string]*build{}
)

// build is one `go build`, run once however many tests wait for it.
type build struct {
	once sync.Once
	out  string
	err  error
}

// Plugins returns a directory holding every plugin of plugins/ (named as
// their folders, what a block's plugin defaults to), for a plugins_dir.
// Tests must not write into it: it is shared by the whole test process.
func Plugins(tb testing.TB) string {
	tb.Helper()
	dir, err := BuildPlugins()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Build returns the path of the binary of pkg (an import path, or a
// directory relative to the test's package such as "./testdata/x") built
// with the given build tags. It is alone in its directory, which can then
// serve as a plugins_dir holding that one plugin.
func Build(tb testing.TB, pkg string, tags ...string) string {
	tb.Helper()
	bin, err := BuildPackage(pkg, tags...)
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// BuildPlugins is Plugins for a TestMain, which has no testing.TB.
func BuildPlugins() (string, error) {
	// A trailing slash makes go build write one binary per package.
	return run("plugins", func(dir string) (string, []string) {
		return dir + "/", []string{pluginsPkg}
	})
}

// BuildPackage is Build for a TestMain, which has no testing.TB.
func BuildPackage(pkg string, tags ...string) (string, error) {
	name := path.Base(filepath.ToSlash(pkg))
	if name == "." || name == "/" || name == "" {
		abs, err := filepath.Abs(pkg)
		if err != nil {
			return "", fmt.Errorf("build %s: %w", pkg, err)
		}
		name = filepath.Base(abs)
	}
	key := pkg
	if len(tags) > 0 {
		key += " -tags " + strings.Join(tags, ",")
	}
	return run(key, func(dir string) (string, []string) {
		bin := filepath.Join(dir, name)
		if len(tags) > 0 {
			return bin, []string{"-tags", strings.Join(tags, ","), pkg}
		}
		return bin, []string{pkg}
	})
}

// run builds what args says into a directory of its own (two packages may
// share a name, one package may be built with other tags), once per key.
// A relative package is resolved against the working directory, the test's
// package, so the key holds it absolute.
func run(key string, args func(dir string) (out string, args []string)) (string, error) {
	if wd, err := os.Getwd(); err == nil {
		key = wd + " " + key
	}
	mu.Lock()
	if root == "" {
		dir, err := os.MkdirTemp("", "wigo-testbin-")
		if err != nil {
			mu.Unlock()
			return "", fmt.Errorf("test binaries directory: %w", err)
		}
		root = dir
	}
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	base := root
	mu.Unlock()
	b.once.Do(func() {
		sum := sha256.Sum256([]byte(key))
		dir := filepath.Join(base, hex.EncodeToString(sum[:8]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.err = fmt.Errorf("test binaries directory: %w", err)
			return
		}
		out, rest := args(dir)
		cmd := exec.Command("go", append([]string{"build", "-o", out}, rest...)...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", strings.Join(rest, " "), err, msg)
			return
		}
		b.out = strings.TrimSuffix(out, "/")
	})
	return b.out, b.err
}

// Cleanup removes every binary built so far; call it from TestMain after
// m.Run. Later calls build again.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if root != "" {
		_ = os.RemoveAll(root)
	}
	root = ""
	builds = map[string]*build{}
}
