package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/testbin"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// steady returns n samples 10 s apart whose series are flat with noise,
// a sawtooth RSS (GC cycles) and a WAL that fills then stays.
func steady(n int) []soakSample {
	r := rand.New(rand.NewPCG(1, 2))
	var out []soakSample
	for i := range n {
		out = append(out, soakSample{
			elapsed:    time.Duration(i+1) * 10 * time.Second,
			rssDaemon:  60e6 + int64(i%7)*1e6 + r.Int64N(5e5),
			rssPlugins: 80e6 + r.Int64N(1e6),
			goroutines: 60 + r.Int64N(8),
			fdsDaemon:  27,
			fdsPlugins: 1030 + r.Int64N(20),
			plugins:    2,
			dbBytes:    8e6,
			walBytes:   4e6 + r.Int64N(1e5),
		})
	}
	return out
}

// TestJudgeSoak: noise passes, a leak of any series fails, the database
// may grow by what the rows it gains explain.
func TestJudgeSoak(t *testing.T) {
	flat := soakOptions{warmup: 0.5, rule: "flat", maxRowBytes: 2048}
	gross := soakOptions{warmup: 0.5, rule: "gross", maxRowBytes: 2048}
	for _, tc := range []struct {
		name   string
		o      soakOptions
		change func(i int, s *soakSample)
		fails  string // the series named in the error, "" = passes
	}{
		{"noise", flat, func(int, *soakSample) {}, ""},
		{"one descriptor per minute", flat, func(i int, s *soakSample) { s.fdsPlugins += int64(i / 6) }, "fds"},
		{"goroutine leak", flat, func(i int, s *soakSample) { s.goroutines += int64(i / 3) }, "goroutines"},
		// Bursts (probe runs, deliveries) are spikes of one sample: they
		// neither fail a flat series nor hide a leak under them.
		{"goroutine bursts", flat, func(i int, s *soakSample) {
			if i%40 == 7 {
				s.goroutines += 220
			}
		}, ""},
		{"goroutine leak under bursts", flat, func(i int, s *soakSample) {
			s.goroutines += int64(i / 6)
			if i%40 == 7 {
				s.goroutines += 220
			}
		}, "goroutines"},
		{"RSS creeping 10 % over the window", flat, func(i int, s *soakSample) { s.rssDaemon += int64(i) * 78_000 }, "rss_bytes"},
		{"logging rows", flat, func(i int, s *soakSample) {
			s.logRows, s.outboxRows = int64(i)*40, int64(i)*40
			s.dbBytes += int64(i) * 80 * 900
		}, ""},
		{"database growing with no rows", flat, func(i int, s *soakSample) { s.dbBytes += int64(i) * 50_000 }, "sqlite_bytes"},
		{"database growing beyond its rows", flat, func(i int, s *soakSample) {
			s.logRows = int64(i)
			s.dbBytes += int64(i) * 50_000
		}, "sqlite_bytes"},
		{"gross: noise", gross, func(int, *soakSample) {}, ""},
		{"gross: descriptors tripling", gross, func(i int, s *soakSample) { s.fdsPlugins += int64(i) * 10 }, "fds"},
		{"gross: a slow creep passes", gross, func(i int, s *soakSample) { s.goroutines += int64(i / 60) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			samples := steady(360)
			for i := range samples {
				tc.change(i, &samples[i])
			}
			lines, err := judgeSoak(samples, tc.o)
			switch {
			case tc.fails == "" && err != nil:
				t.Fatalf("judged not flat: %v\n%s", err, strings.Join(lines, "\n"))
			case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
				t.Fatalf("err = %v, want %s named\n%s", err, tc.fails, strings.Join(lines, "\n"))
			}
			if len(lines) != 5 {
				t.Fatalf("%d verdict lines, want 5:\n%s", len(lines), strings.Join(lines, "\n"))
			}
		})
	}

	if _, err := judgeSoak(steady(4), flat); err == nil || !strings.Contains(err.Error(), "samples after warm-up") {
		t.Errorf("4 samples: err = %v, want too few samples", err)
	}
	noPlugin := steady(20)
	noPlugin[3].plugins = 0
	if _, err := judgeSoak(noPlugin, flat); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("a sample without plugins: err = %v, want incomplete", err)
	}
}

// TestLineFit: the slope and residuals of an exact line.
func TestLineFit(t *testing.T) {
	f := lineFit([]float64{0, 10, 20, 30}, []float64{5, 7, 9, 11})
	if f.slope != 0.2 || f.resid > 1e-9 || f.robust != 0.2 || f.noise != 0 || f.drift() != 6 || f.mean != 8 || f.lo != 5 || f.hi != 11 {
		t.Fatalf("fit = %+v", f)
	}
	// One spike tilts least squares, not Theil–Sen.
	f = lineFit([]float64{0, 10, 20, 30, 40, 50, 60}, []float64{5, 7, 9, 11, 13, 15, 117})
	if f.robust != 0.2 || f.noise != 0 || f.slope < 1 {
		t.Fatalf("fit with a spike = %+v", f)
	}
}

// TestSoakFlags: bad flags are refused with the flag named.
func TestSoakFlags(t *testing.T) {
	for args, want := range map[string]string{
		"-rule strict":              "-rule",
		"-check-interval 1500ms":    "-check-interval",
		"-warmup 1":                 "-warmup",
		"-sample 2h -duration 1h":   "-sample",
		"-wigo /nonexistent/wigo":   "-wigo",
		"-retention-days -1":        "-retention-days",
		"-duration 1h extra":        "unexpected",
		"-plugins /nonexistent/dir": "-plugins",
	} {
		self, _ := os.Executable() // a file that exists for -wigo
		a := append([]string{"-wigo", self, "-plugins", t.TempDir()}, strings.Fields(args)...)
		if want != "-plugins" {
			dir := t.TempDir()
			for _, p := range []string{"transport-pull", "notify-http"} {
				if err := os.WriteFile(filepath.Join(dir, p), nil, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			a[3] = dir
		}
		if _, err := parseSoak(a); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %s named", args, err, want)
		}
	}
}

// TestSoakShort runs the soak for real at a small scale: a built master,
// 20 flipping probes, 20 pulled remotes, a notification receiver. The
// gross rule only: a short run on a shared machine shows that sampling
// works and nothing climbs, not flatness.
func TestSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a master for 15 s")
	}
	wigo, plugins := testbin.Build(t, "../wigo"), testbin.Plugins(t)
	tsv := filepath.Join(t.TempDir(), "soak", "short.tsv")
	out := &syncBuffer{}
	err := runSoak(context.Background(), []string{"-wigo", wigo, "-plugins", plugins,
		"-dir", t.TempDir(), "-duration", "15s", "-sample", "1s", "-probes", "20", "-flip-every", "3",
		"-remotes", "20", "-remote-probes", "5", "-remote-interval", "1s", "-check-interval", "1s", "-change", "0.2",
		"-rule", "gross", "-out", tsv}, out)
	if err != nil {
		t.Fatalf("soak: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(tsv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != strings.TrimSpace(soakHeader) || len(lines) < 10 {
		t.Fatalf("%d TSV lines:\n%s", len(lines), b)
	}
	cols := strings.Fields(soakHeader)
	last := strings.Split(lines[len(lines)-1], "\t")
	get := func(name string) int64 {
		t.Helper()
		for i, c := range cols {
			if c == name {
				v, err := strconv.ParseInt(last[i], 10, 64)
				if err != nil {
					t.Fatalf("%s = %q", name, last[i])
				}
				return v
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	// Both plugins measured, with a connection per remote open; the flips
	// logged, queued and delivered.
	if p, fds := get("plugins"), get("fds_plugins"); p != 2 || fds < 20 || get("rss_plugins") <= 0 {
		t.Errorf("plugins=%d fds_plugins=%d rss_plugins=%d: want both plugins and a descriptor per remote", p, fds, get("rss_plugins"))
	}
	if get("log_rows") == 0 || get("outbox_rows") == 0 || get("notified") == 0 || get("sqlite_bytes") <= get("wal_bytes") {
		t.Errorf("log_rows=%d outbox_rows=%d notified=%d sqlite=%d: want the flips logged, queued and delivered",
			get("log_rows"), get("outbox_rows"), get("notified"), get("sqlite_bytes"))
	}
	s := out.String()
	t.Logf("soak output:\n%s", s)
	if !strings.Contains(s, "20/20 remotes polled") || !strings.Contains(s, "soak: passed (gross rule") ||
		!strings.Contains(s, "plugin processes: 2 at a time, 2 over the run") {
		t.Errorf("output:\n%s", s)
	}
}

// TestJudgeFile: a TSV written by a run reads back to the same samples;
// a damaged one is refused with its line.
func TestJudgeFile(t *testing.T) {
	samples := steady(30)
	var b strings.Builder
	b.WriteString(soakHeader)
	for _, s := range samples {
		b.WriteString(s.tsv())
	}
	path := filepath.Join(t.TempDir(), "run.tsv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readSoakTSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(samples) || got[7] != samples[7] {
		t.Fatalf("read %d samples, [7] = %+v, want %+v", len(got), got[7], samples[7])
	}
	var out strings.Builder
	if err := runSoak(context.Background(), []string{"-judge", path}, &out); err != nil || !strings.Contains(out.String(), "soak: passed (flat rule, 30 samples") {
		t.Fatalf("judge: %v\n%s", err, out.String())
	}

	damaged := strings.Replace(b.String(), "\n20\t", "\n20\tx", 1)
	if err := os.WriteFile(path, []byte(damaged), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readSoakTSV(path); err == nil || !strings.Contains(err.Error(), path+":3: rss_bytes") {
		t.Fatalf("damaged TSV: err = %v, want line 3, rss_bytes named", err)
	}
}

// TestSoakMasterExits: a master that exits at once is reported as such,
// with its log, and the work directory is kept.
func TestSoakMasterExits(t *testing.T) {
	plugins := t.TempDir()
	for _, p := range []string{"transport-pull", "notify-http"} {
		if err := os.WriteFile(filepath.Join(plugins, p), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Fatalf("false(1), coreutils: %v", err)
	}
	var out strings.Builder
	err = runSoak(context.Background(), []string{"-wigo", falseBin, "-plugins", plugins, "-remotes", "2",
		"-duration", "10s", "-out", filepath.Join(t.TempDir(), "s.tsv")}, &out)
	if err == nil || !strings.Contains(err.Error(), "master exited at start: exit status 1") || !strings.Contains(err.Error(), "wigo.log") {
		t.Fatalf("err = %v, want the exit and the log named", err)
	}
	dir, ok := strings.CutPrefix(strings.TrimSpace(out.String()), "work directory kept: ")
	if !ok {
		t.Fatalf("output %q, want the work directory kept", out.String())
	}
	defer os.RemoveAll(dir)
	if _, err := os.Stat(filepath.Join(dir, "wigo.hcl")); err != nil {
		t.Errorf("kept directory: %v", err)
	}
}
