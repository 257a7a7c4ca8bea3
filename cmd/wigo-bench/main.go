// Command wigo-bench measures a real wigo daemon from the outside, for the
// figures in BENCHMARKS.md.
//
//	wigo-bench probes -wigo bin/wigo -n 1000 -interval 10 -window 30s
//
// starts the daemon on n trivial probes, lets one interval pass, then reads
// the daemon's own CPU time (utime+stime from /proc, children excluded) and
// the number of probe runs over the window. In the same run it fork/execs
// /bin/true from this process and measures this process's CPU per exec, so
// the daemon's cost per probe run is reported against a reference taken on
// the same machine at the same time.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

func main() {
	log := hclog.New(&hclog.LoggerOptions{Name: "wigo-bench"})
	if len(os.Args) < 2 || os.Args[1] != "probes" {
		fmt.Fprintln(os.Stderr, "usage: wigo-bench probes [-wigo bin/wigo] [-n 1000] [-interval 10] [-window 30s]")
		os.Exit(2)
	}
	fl := flag.NewFlagSet("probes", flag.ExitOnError)
	bin := fl.String("wigo", "bin/wigo", "wigo daemon binary")
	n := fl.Int("n", 1000, "number of trivial probes")
	interval := fl.Int("interval", 10, "probe interval in seconds")
	window := fl.Duration("window", 30*time.Second, "measurement window, after one interval of warm-up")
	fl.Parse(os.Args[2:])
	if err := probes(log, *bin, *n, *interval, *window); err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
}

// clockTick is the kernel's USER_HZ, the unit of utime/stime in /proc.
const clockTick = 100

func cpuOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTick, nil
}

func rssOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	return "?"
}

func countRuns(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	return bytes.Count(b, []byte("\n")), err
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func probes(log hclog.Logger, bin string, n, interval int, window time.Duration) error {
	dir, err := os.MkdirTemp("", "wigo-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	counter := filepath.Join(dir, "runs")
	pdir := filepath.Join(dir, "probes", strconv.Itoa(interval))
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	script := fmt.Sprintf("#!/bin/sh\necho . >> %s\necho '{\"Status\":100,\"Message\":\"ok\"}'\n", counter)
	for i := range n {
		if err := os.WriteFile(filepath.Join(pdir, fmt.Sprintf("p%04d", i)), []byte(script), 0o755); err != nil {
			return err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf("hostname = \"bench\"\nprobes_dir = \"probes\"\nprobes_config_dir = \"conf.d\"\ndatabase = \"wigo.db\"\nuuid_file = \"uuid\"\nlog_level = \"warn\"\nhttp {\n  address = \"127.0.0.1\"\n  port = %d\n}\n", port)
	if err := os.WriteFile(filepath.Join(dir, "wigo.hcl"), []byte(cfg), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "-c", filepath.Join(dir, "wigo.hcl"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", bin, err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	pid := cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/status", port)); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-ctx.Done():
			return errors.New("daemon did not answer within 10s")
		case <-time.After(100 * time.Millisecond):
		}
	}
	log.Info("warming up", "probes", n, "interval", interval)
	time.Sleep(time.Duration(interval)*time.Second + 2*time.Second)

	cpu0, err := cpuOf(pid)
	if err != nil {
		return err
	}
	runs0, _ := countRuns(counter)
	time.Sleep(window)
	cpu1, err := cpuOf(pid)
	if err != nil {
		return err
	}
	runs1, _ := countRuns(counter)
	runs := runs1 - runs0
	if runs <= 0 {
		return errors.New("no probe ran during the window")
	}
	daemonPerRun := (cpu1 - cpu0) / time.Duration(runs)
	rss := rssOf(pid)

	// Reference: this process fork/execs /bin/true as many times.
	refN := min(runs, 2000)
	c0 := selfCPU()
	for range refN {
		if err := exec.Command("/bin/true").Run(); err != nil {
			return fmt.Errorf("run /bin/true: %w", err)
		}
	}
	refPerExec := (selfCPU() - c0) / time.Duration(refN)

	fmt.Printf("probes=%d interval=%ds window=%s runs=%d (%.1f/s)\n", n, interval, window, runs, float64(runs)/window.Seconds())
	fmt.Printf("daemon CPU: %s total, %s per probe run, RSS %s\n", cpu1-cpu0, daemonPerRun, rss)
	fmt.Printf("reference: fork/exec /bin/true from Go: %s CPU per exec (%d execs)\n", refPerExec, refN)
	fmt.Printf("ratio daemon-per-run / fork-exec: %.2f\n", float64(daemonPerRun)/float64(refPerExec))
	fmt.Printf("daemon CPU share at this load: %.1f%% of one core\n", 100*float64(cpu1-cpu0)/float64(window))
	return nil
}
