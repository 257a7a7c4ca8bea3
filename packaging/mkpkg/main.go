// Command mkpkg builds the wigo packages (.deb and .rpm) of one architecture
// from packaging/nfpm.yaml, with nfpm as a library. Run by `make packages`
// from the top of the source tree:
//
//	mkpkg -arch arm64 -version 1.2.3 -bin bin/linux-arm64 -list bin/wigo-probes \
//	      -strip aarch64-linux-gnu-strip -out dist -formats deb,rpm
//
// It stages what the source tree tracks (never what merely lies in it: a
// stray binary or drop-in would otherwise ship on every host), fills the
// description's ${ARCH}, ${VERSION} and ${STAGE}, adds a link per probe of
// the probe library and writes one package per format into -out.
package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager
)

// archs maps the Debian name of each architecture the project ships (used
// by the Makefile and in file names) to nfpm's.
var archs = map[string]string{"amd64": "amd64", "arm64": "arm64", "armhf": "arm7"}

// rpmRelease is the RPM release of every package: one build per version.
const rpmRelease = "1"

// skipCommands are commands of cmd/ that are development tools, not for hosts.
var skipCommands = []string{"wigo-bench"}

type options struct {
	arch, version, bin, list, strip, out, description string
	formats                                           []string
}

func main() {
	var o options
	var formats string
	fl := flag.NewFlagSet("mkpkg", flag.ContinueOnError)
	fl.StringVar(&o.arch, "arch", "", "architecture: amd64, arm64 or armhf")
	fl.StringVar(&o.version, "version", "", "version (git describe output is made package-safe)")
	fl.StringVar(&o.bin, "bin", "bin", "directory with the commands built for -arch, plugins in its plugins/")
	fl.StringVar(&o.list, "list", "", "a wigo-probes that runs here, asked for the probe library's names (default: -bin's)")
	fl.StringVar(&o.strip, "strip", "strip", "strip command for -arch binaries")
	fl.StringVar(&o.out, "out", "dist", "output directory")
	fl.StringVar(&o.description, "description", "packaging/nfpm.yaml", "nfpm description")
	fl.StringVar(&formats, "formats", "deb,rpm", "package formats, comma-separated")
	if err := fl.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	o.formats = strings.FieldsFunc(formats, func(r rune) bool { return r == ',' || r == ' ' })
	if o.list == "" {
		o.list = filepath.Join(o.bin, "wigo-probes")
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "mkpkg:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	nfpmArch, ok := archs[o.arch]
	if !ok {
		return fmt.Errorf("-arch %q: want one of amd64, arm64, armhf", o.arch)
	}
	if len(o.formats) == 0 {
		return errors.New("-formats: none given")
	}
	version := packageVersion(o.version)

	stage, err := os.MkdirTemp("", "wigo-stage")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	env := map[string]string{"ARCH": nfpmArch, "VERSION": version, "STAGE": stage}
	cfg, err := nfpm.ParseFileWithEnvMapping(o.description, func(k string) string { return env[k] })
	if err != nil {
		return fmt.Errorf("%s: %w", o.description, err)
	}
	if err := fill(stage, o, version, cfg.Maintainer); err != nil {
		return err
	}
	probes, err := exec.Command(o.list, "-list").Output()
	if err != nil {
		return fmt.Errorf("%s -list (the probe library's names): %w", o.list, err)
	}
	// The probe library: a link per probe, relative so that it resolves in
	// any root (a chroot, dpkg --root, a container layer). An example
	// script of the same name is shipped instead.
	examples, err := tracked("probes/examples")
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(probes)) {
		if slices.Contains(examples, "probes/examples/"+name) {
			continue
		}
		cfg.Contents = append(cfg.Contents, &files.Content{
			Source: "../../../../bin/wigo-probes", Destination: "/usr/lib/wigo/probes/examples/" + name,
			Type: files.TypeSymlink, FileInfo: &files.ContentFileInfo{Mode: 0o777},
		})
	}

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	for _, format := range o.formats {
		path, err := pack(&cfg, format, o.out, stage)
		if err != nil {
			return fmt.Errorf("%s package for %s: %w", format, o.arch, err)
		}
		fmt.Println(path)
	}
	return nil
}

// pack writes the package of one format into dir and returns its path.
func pack(cfg *nfpm.Config, format, dir, stage string) (string, error) {
	info, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	if format == "rpm" {
		info.Release = rpmRelease
		info.Changelog = filepath.Join(stage, "changelog.yml")
	}
	info = nfpm.WithDefaults(info)
	pkgr, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	if err := nfpm.PrepareForPackager(info, format); err != nil {
		return "", err
	}
	path := filepath.Join(dir, pkgr.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	info.Target = path
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		os.Remove(path)
		return "", err
	}
	return path, f.Close()
}

// packageVersion turns VERSION (git describe gives v1.2.3-4-gabcdef,
// abcdef-dirty or "dev") into a version both dpkg and rpm accept and order:
// a leading v dropped, the alphabet restricted (no '-', which both read as
// the release separator), and anything not shaped like 1.2... prefixed with
// 0~ so that it sorts before every release.
func packageVersion(v string) string {
	v = regexp.MustCompile(`[^A-Za-z0-9.+~]`).ReplaceAllString(strings.TrimPrefix(v, "v"), ".")
	if !regexp.MustCompile(`^[0-9]+\.[0-9]`).MatchString(v) {
		v = "0~" + v
	}
	return v
}

// tracked lists the files under dir that the source tree tracks: git's list
// in a checkout, or everything in a release tarball (which holds only what
// was released).
func tracked(dir string) ([]string, error) {
	if err := exec.Command("git", "rev-parse", "--is-inside-work-tree").Run(); err == nil {
		out, err := exec.Command("git", "ls-files", "--", dir).Output()
		if err != nil {
			return nil, fmt.Errorf("git ls-files %s: %w", dir, err)
		}
		return strings.Fields(string(out)), nil
	}
	var list []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			list = append(list, p)
		}
		return err
	})
	return list, err
}

// subdirs lists the directories of dir/ (cmd/, plugins/) the tree tracks.
func subdirs(dir string) ([]string, error) {
	list, err := tracked(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range list {
		if parts := strings.Split(f, "/"); len(parts) > 2 && !slices.Contains(out, parts[1]) {
			out = append(out, parts[1])
		}
	}
	return out, nil
}

// fill lays out the stage the description refers to.
func fill(stage string, o options, version, maintainer string) error {
	for _, d := range []string{"bin", "plugins", "examples", "etc/wigo.d", "etc/conf.d"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			return err
		}
	}

	// Commands and plugins, stripped: Debian ships stripped binaries, and
	// Go keeps its build info in its own section, so `go version -m` still
	// works on them.
	cmds, err := subdirs("cmd")
	if err != nil {
		return err
	}
	plugins, err := subdirs("plugins")
	if err != nil {
		return err
	}
	var bins []string
	for _, c := range cmds {
		if !slices.Contains(skipCommands, c) {
			bins = append(bins, filepath.Join("bin", c))
		}
	}
	for _, p := range plugins {
		bins = append(bins, filepath.Join("plugins", p))
	}
	for _, b := range bins {
		src := filepath.Join(o.bin, strings.TrimPrefix(b, "bin/"))
		if st, err := os.Stat(src); err != nil || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s missing or not executable (build it for %s first): %v", src, o.arch, err)
		}
		dst := filepath.Join(stage, b)
		if err := copyFile(src, dst, 0o755); err != nil {
			return err
		}
		if out, err := exec.Command(o.strip, "--strip-unneeded", "--remove-section=.comment",
			"--remove-section=.note", dst).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %v\n%s", o.strip, src, err, out)
		}
	}

	// Example probe scripts.
	examples, err := tracked("probes/examples")
	if err != nil {
		return err
	}
	for _, f := range examples {
		if err := copyFile(f, filepath.Join(stage, "examples", filepath.Base(f)), 0o755); err != nil {
			return err
		}
	}

	// The probes seeded on first install: those probes/ of the tree links,
	// then the probe library's list of those that apply to any host (one
	// without its subject exits 13 on its first run and is dropped).
	defaults := []string{"# Probe links seeded into /etc/wigo/probes on first install only."}
	probes, err := tracked("probes")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	add := func(e string) {
		if !seen[e] {
			seen[e] = true
			defaults = append(defaults, e)
		}
	}
	interval := regexp.MustCompile(`^probes/[0-9]+/[^/]+$`)
	for _, p := range probes {
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSymlink != 0 && interval.MatchString(p) {
			add(strings.TrimPrefix(p, "probes/"))
		}
	}
	list, err := os.ReadFile("probes/default.list")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(list), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			add(l)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "default-probes"), []byte(strings.Join(defaults, "\n")+"\n"), 0o644); err != nil {
		return err
	}

	// Configuration: etc/wigo.hcl with the package's paths. The
	// substitution must hit, or the package would point the daemon at
	// directories it does not ship.
	hcl, err := os.ReadFile("etc/wigo.hcl")
	if err != nil {
		return err
	}
	for key, val := range map[string]string{"probes_dir": "/etc/wigo/probes", "plugins_dir": "/usr/lib/wigo/plugins"} {
		re := regexp.MustCompile(`(?m)^` + key + ` *= *".*"$`)
		if !re.Match(hcl) {
			return fmt.Errorf("etc/wigo.hcl: no line %s = \"...\" to point at %s", key, val)
		}
		hcl = re.ReplaceAll(hcl, []byte(key+` = "`+val+`"`))
	}
	if err := os.WriteFile(filepath.Join(stage, "etc", "wigo.hcl"), hcl, 0o644); err != nil {
		return err
	}
	dropIns, err := tracked("etc/wigo.d")
	if err != nil {
		return err
	}
	confs, err := tracked("etc/conf.d")
	if err != nil {
		return err
	}
	for _, f := range append(dropIns, confs...) {
		if strings.HasPrefix(f, "etc/conf.d/") && !strings.HasSuffix(f, ".conf") {
			continue
		}
		if err := copyFile(f, filepath.Join(stage, f), 0o644); err != nil {
			return err
		}
	}

	return writeChangelog(filepath.Join(stage, "changelog.gz"), o.version, version, maintainer)
}

// writeChangelog writes a native Debian package's changelog (path), gzipped
// without name or time so that the package is reproducible, and the RPM's
// next to it.
func writeChangelog(path, sourceVersion, version, maintainer string) error {
	when := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		when = time.Unix(sec, 0)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	fmt.Fprintf(zw, "wigo (%s) unstable; urgency=medium\n\n  * Built from the source tree, version %s.\n\n -- %s  %s\n",
		version, sourceVersion, maintainer, when.UTC().Format(time.RFC1123Z))
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	// The same entry for RPM's %changelog, in the format nfpm reads
	// (goreleaser/chglog); strconv.Quote's strings are valid YAML.
	yml := fmt.Sprintf("- semver: %s\n  date: %s\n  packager: %s\n  changes:\n    - commit: \"\"\n      note: %s\n",
		strconv.Quote(version+"-"+rpmRelease), when.UTC().Format(time.RFC3339), strconv.Quote(maintainer),
		strconv.Quote("Built from the source tree, version "+sourceVersion+"."))
	return os.WriteFile(filepath.Join(filepath.Dir(path), "changelog.yml"), []byte(yml), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
