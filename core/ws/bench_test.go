package ws

// BenchmarkFanOut1000 measures the hub the way a NOC uses it: 1,000
// browsers connected over loopback, one state change, and the time until
// the last of them has it. The hub runs in a child process (this test
// binary re-executed) so that its CPU and RSS, read from /proc/<pid>, are
// the server's alone and not the 1,000 clients'.
//
//	go test -run '^$' -bench FanOut1000 -benchtime 300x ./core/ws/

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

const benchServerEnv = "WIGO_WS_BENCH_SERVER"

// TestBenchServer is the child process of BenchmarkFanOut1000; it does
// nothing in a normal test run.
func TestBenchServer(t *testing.T) {
	if os.Getenv(benchServerEnv) == "" {
		t.Skip("helper process of BenchmarkFanOut1000")
	}
	st := state.New(state.Options{UUID: "bench", Hostname: "bench-host", Group: "bench", Bus: event.NewBus()})
	// A realistic host: 20 probes, so the snapshot is a real document.
	for i := range 20 {
		st.ProbeResult(&model.ProbeResult{Name: fmt.Sprint("probe", i), Status: 100, Message: "fine", Version: "1", Timestamp: time.Now().Unix()})
	}
	hub := New(Options{State: st})
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.Handle("/api/ws", hub)
	mux.HandleFunc("POST /change", func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		st.ProbeResult(&model.ProbeResult{Name: "probe0", Status: 100 + int(i%2)*200, Message: fmt.Sprint("change ", i), Version: "1", Timestamp: time.Now().Unix()})
		fmt.Fprint(w, st.Bus().Seq())
	})
	mux.HandleFunc("GET /clients", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, hub.Stats().Clients)
	})
	srv := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	os.Stdout.Sync()
	srv.Serve(ln) // until the parent kills us
}

// procStat reads a process's CPU time (user+system) and RSS.
func procStat(pid int) (cpu time.Duration, rssKB int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	cpu = time.Duration(utime+stime) * time.Second / clkTck
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			rssKB, _ = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
		}
	}
	return cpu, rssKB, nil
}

// round is one change being awaited by every client.
type round struct {
	seq  uint64
	got  atomic.Int64
	done chan struct{}
}

func BenchmarkFanOut1000(b *testing.B) {
	const clients = 1000
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBenchServer$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(out)
	var addr string
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		b.Fatal("bench server did not start")
	}
	pid := cmd.Process.Pid
	_, rssIdle, _ := procStat(pid)

	var cur atomic.Pointer[round]
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	// Every client dials at once, as after a daemon restart, and the
	// storm is over when each has read its snapshot.
	conns := make([]*websocket.Conn, clients)
	snapshots := make(chan struct{}, clients)
	dialErr := make(chan error, clients)
	connectStart := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := dialer.Dial("ws://"+addr+"/api/ws", nil)
			if err != nil {
				dialErr <- err
				return
			}
			conns[i] = c
			for {
				_, msg, err := c.ReadMessage()
				if err != nil {
					return
				}
				if bytes.HasPrefix(msg, []byte(`{"type":"snapshot"`)) {
					snapshots <- struct{}{}
					continue
				}
				// Find "seq":N without decoding the whole message: this
				// process only plays the browsers.
				i := bytes.Index(msg, []byte(`"seq":`))
				if i < 0 || !bytes.HasPrefix(msg, []byte(`{"type":"event"`)) {
					continue
				}
				j := i + 6
				for j < len(msg) && msg[j] >= '0' && msg[j] <= '9' {
					j++
				}
				seq, _ := strconv.ParseUint(string(msg[i+6:j]), 10, 64)
				if r := cur.Load(); r != nil && r.seq == seq && r.got.Add(1) == clients {
					close(r.done)
				}
			}
		}()
	}
	for range clients {
		select {
		case <-snapshots:
		case err := <-dialErr:
			b.Fatalf("dial: %v", err)
		case <-time.After(60 * time.Second):
			b.Fatal("reconnect storm: not every client got its snapshot within 60 s")
		}
	}
	connectTime := time.Since(connectStart)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		wg.Wait()
	}()
	httpc := &http.Client{}
	get := func(path string) string {
		resp, err := httpc.Get("http://" + addr + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return buf.String()
	}
	if n := get("/clients"); n != strconv.Itoa(clients) {
		b.Fatalf("server counts %s clients, want %d", n, clients)
	}
	cpu0, rssConnected, _ := procStat(pid)
	// Idle cost of holding 1,000 connections (no change, no ping due).
	time.Sleep(2 * time.Second)
	cpu1, _, _ := procStat(pid)

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// The next seq is known before the change is made, so no client
		// can see it before the round exists.
		r := &round{done: make(chan struct{})}
		r.seq = uint64(i) + 21 // 20 probes appeared before, then one event per change
		cur.Store(r)
		start := time.Now()
		resp, err := httpc.Post("http://"+addr+"/change", "text/plain", nil)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("change %d: only %d of %d clients got it", i, r.got.Load(), clients)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	cpu2, rssAfter, _ := procStat(pid)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64((cpu2-cpu1).Microseconds())/1000/float64(b.N), "server-cpu-ms/change")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/1000/2, "server-idle-cpu-ms/s")
	b.ReportMetric(float64(rssConnected)/1024, "server-rss-MB")
	b.ReportMetric(float64(connectTime.Milliseconds()), "storm-connect-ms")
	b.Logf("clients %d, all connected with a snapshot after %s; server RSS before clients %d KB, connected %d KB, after %d changes %d KB",
		clients, connectTime.Round(time.Millisecond), rssIdle, rssConnected, b.N, rssAfter)
}
