// Command wigo-loadgen simulates many Wigo push clients (push) or pulled
// remotes (pull, see pull.go) against a master, to measure the master's
// CPU and memory per host (BENCHMARKS.md) and to show that a reconnect
// storm is a normal day; soak (soak.go) runs a master under load for hours
// and requires its resources flat (RELIABILITY.md).
//
//	wigo-loadgen push -master 127.0.0.1:4001 -n 1000 -probes 20 -interval 10s \
//	    -change 0.01 -duration 60s -ramp 10s -pid $(pidof wigo)
//
// Each simulated client speaks the real push protocol (plugins/transport-push
// /pushpb) over TLS: hello, snapshot, then every interval a delta carrying
// each of its probes (a new result, as probes report every run), a share
// -change of them with a new status. The master must run transport-push's
// server role with auto_accept = true, and, since every simulated client
// comes from this one address, max_unauthenticated_per_address (and for
// -ramp 0 max_unauthenticated) raised to the number of clients connecting
// at once. With -ramp 0 every client connects in the same instant: the
// storm after a master restart. With -pid, the
// master's CPU (utime+stime from /proc) and RSS are sampled over the window
// after the ramp.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

func main() {
	runs := map[string]func(context.Context, []string, io.Writer) error{"push": runPush, "pull": runPull, "soak": runSoak}
	run, ok := runs[""]
	if len(os.Args) >= 2 {
		run, ok = runs[os.Args[1]]
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: wigo-loadgen push -master HOST:PORT [-n 1000] [-probes 20] [-interval 10s] [-change 0.01] [-duration 60s] [-ramp 10s] [-pid PID]")
		fmt.Fprintln(os.Stderr, "       wigo-loadgen pull [-n 1000] [-probes 20] [-probe-interval 60s] [-change 0.01] [-original] [-listen-port 4950] [-config FILE] [-check-interval 10s] [-duration 60s] [-settle 10s] [-pid PID] [-close]")
		fmt.Fprintln(os.Stderr, "       wigo-loadgen soak [-wigo bin/wigo] [-plugins bin/plugins] [-duration 1h] [-sample 10s] [-probes 200] [-remotes 1000] [-out var/soak/….tsv] [-rule flat|gross]\n       wigo-loadgen soak -judge var/soak/….tsv [-warmup 0.5] [-rule flat|gross]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[2:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wigo-loadgen:", err)
		os.Exit(1)
	}
}

type options struct {
	masters        []string
	n, probes      int
	interval       time.Duration
	change         float64
	duration, ramp time.Duration
	pids           []int
	prefix         string
}

// stats are shared by every simulated client.
type stats struct {
	connected, sessions, sent, acked, errors atomic.Int64
	mu                                       sync.Mutex
	latencies                                []time.Duration
	lastErr                                  atomic.Value
}

func (s *stats) latency(d time.Duration) {
	s.mu.Lock()
	if len(s.latencies) < 1_000_000 {
		s.latencies = append(s.latencies, d)
	}
	s.mu.Unlock()
}

// percentiles returns p50 and p99 of the latencies since the last call.
func (s *stats) percentiles() (time.Duration, time.Duration, int) {
	s.mu.Lock()
	l := s.latencies
	s.latencies = nil
	s.mu.Unlock()
	if len(l) == 0 {
		return 0, 0, 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[len(l)/2], l[len(l)*99/100], len(l)
}

func runPush(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	masters := fs.String("master", "127.0.0.1:4001", "master's push address; several, comma-separated, share the clients (client i goes to the (i mod count)th)")
	fs.IntVar(&o.n, "n", 1000, "simulated clients (hosts)")
	fs.IntVar(&o.probes, "probes", 20, "probes per host")
	fs.DurationVar(&o.interval, "interval", 10*time.Second, "probe interval: one delta per host per interval")
	fs.Float64Var(&o.change, "change", 0.01, "share of probe statuses changing per interval")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "measurement window after the ramp")
	fs.DurationVar(&o.ramp, "ramp", 10*time.Second, "spread of the first connections; 0 = all at once (storm)")
	pidList := fs.String("pid", "", "master's PIDs, comma-separated (the daemon and its transport-push plugin), to sample their CPU and RSS")
	fs.StringVar(&o.prefix, "prefix", "loadgen", "UUID and hostname prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, p := range strings.Split(*pidList, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pid, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("-pid %q: %w", p, err)
			}
			o.pids = append(o.pids, pid)
		}
	}
	for _, m := range strings.Split(*masters, ",") {
		if m = strings.TrimSpace(m); m != "" {
			o.masters = append(o.masters, m)
		}
	}
	if o.n < 1 || o.probes < 1 || o.interval <= 0 || len(o.masters) == 0 {
		return errors.New("need n >= 1, probes >= 1, interval > 0, a master")
	}
	st := &stats{}
	runCtx, cancel := context.WithTimeout(ctx, o.ramp+o.duration)
	defer cancel()
	began := time.Now()
	var wg sync.WaitGroup
	for i := range o.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var delay time.Duration
			if o.ramp > 0 {
				delay = time.Duration(rand.Int64N(int64(o.ramp)))
			}
			select {
			case <-time.After(delay):
			case <-runCtx.Done():
				return
			}
			simulate(runCtx, o, i, o.masters[i%len(o.masters)], st)
		}()
	}
	fmt.Fprintf(out, "wigo-loadgen: %d clients × %d probes every %v against %s (ramp %v)\n", o.n, o.probes, o.interval, strings.Join(o.masters, ","), o.ramp)

	// Time until every client is connected, at start and after every drop
	// (a master restart): the storm figures.
	allUp := make(chan time.Duration, 1)
	go func() {
		down, since := true, began
		for runCtx.Err() == nil {
			n := st.connected.Load()
			switch {
			case down && n >= int64(o.n):
				d := time.Since(since)
				if since == began {
					allUp <- d
				} else {
					fmt.Fprintf(out, "reconnect storm: all %d clients back %v after the first drop\n", o.n, d.Round(time.Millisecond))
				}
				down = false
			case !down && n < int64(o.n):
				down, since = true, time.Now()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	select {
	case d := <-allUp:
		fmt.Fprintf(out, "all %d clients connected %v after start\n", o.n, d.Round(time.Millisecond))
	case <-time.After(o.ramp + 30*time.Second):
		fmt.Fprintf(out, "only %d/%d clients connected after %v\n", st.connected.Load(), o.n, o.ramp+30*time.Second)
	case <-runCtx.Done():
	}
	// The measurement window starts once the ramp is over.
	if wait := time.Until(began.Add(o.ramp)); wait > 0 {
		select {
		case <-time.After(wait):
		case <-runCtx.Done():
		}
	}
	master := sampleMaster(o.pids)
	acked0 := st.acked.Load()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-tick.C:
			p50, p99, _ := st.percentiles()
			rss := master.rss()
			fmt.Fprintf(out, "%6.0fs connected=%d sessions=%d sent=%d acked=%d errors=%d ack p50=%v p99=%v master_rss=%s\n",
				time.Since(began).Seconds(), st.connected.Load(), st.sessions.Load(), st.sent.Load(), st.acked.Load(), st.errors.Load(),
				p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), mb(rss))
		}
	}
	elapsed := master.elapsed()
	acked := st.acked.Load() - acked0
	masterLine := master.finish("update", acked, o.n)
	wg.Wait()
	fmt.Fprintf(out, "window %v: %d updates acked (%.0f/s), %d errors", elapsed.Round(time.Second), acked, float64(acked)/elapsed.Seconds(), st.errors.Load())
	if e, _ := st.lastErr.Load().(string); e != "" {
		fmt.Fprintf(out, " (last: %s)", e)
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, masterLine)
	return nil
}

// masterSampler follows the master's processes (CPU and RSS from /proc)
// over a measurement window; both halves of the load generator report
// through it.
type masterSampler struct {
	pids []int
	cpu0 time.Duration
	t0   time.Time
	peak int64
}

// sampleMaster starts a window now.
func sampleMaster(pids []int) *masterSampler {
	cpu0, _ := procCPU(pids)
	return &masterSampler{pids: pids, cpu0: cpu0, t0: time.Now()}
}

func (m *masterSampler) elapsed() time.Duration { return time.Since(m.t0) }

// rss returns the master's resident set now, keeping the peak.
func (m *masterSampler) rss() int64 {
	r := procRSS(m.pids)
	m.peak = max(m.peak, r)
	return r
}

// finish ends the window and returns the master's line: cores, CPU per
// update (what names the update), RSS and RSS per host; empty without PIDs.
func (m *masterSampler) finish(what string, updates int64, hosts int) string {
	elapsed := m.elapsed()
	cpu1, ok := procCPU(m.pids)
	rss := m.rss()
	if !ok {
		return ""
	}
	cpu := cpu1 - m.cpu0
	var per time.Duration
	if updates > 0 {
		per = (cpu / time.Duration(updates)).Round(time.Microsecond)
	}
	return fmt.Sprintf("master: %.3f cores, %v CPU per %s, RSS %s (peak %s), %s per host\n",
		cpu.Seconds()/elapsed.Seconds(), per, what, mb(rss), mb(m.peak), kb(rss/int64(hosts)))
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
func kb(b int64) string { return fmt.Sprintf("%.1f KB", float64(b)/1e3) }

// simulate is one push client: sessions with reconnection (backoff with
// jitter, as the real client) until ctx ends.
func simulate(ctx context.Context, o options, i int, master string, st *stats) {
	uuid := fmt.Sprintf("%s-%06d", o.prefix, i)
	host := newHost(uuid, o.probes)
	var sig []byte
	backoff := time.Second
	for ctx.Err() == nil {
		accepted, err := session(ctx, o, master, host, &sig, st)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			st.errors.Add(1)
			st.lastErr.Store(err.Error())
		}
		if accepted {
			backoff = time.Second
		}
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// host is a simulated host's document.
type host struct {
	doc    *model.Wigo
	names  []string
	status []int
	// key is the client key the master binds the host's signature to
	// (derived from the UUID: the same on every run).
	key ed25519.PrivateKey
}

func newHost(uuid string, probes int) *host {
	seed := sha256.Sum256([]byte("wigo-loadgen client key " + uuid))
	h := &host{key: ed25519.NewKeyFromSeed(seed[:]), doc: &model.Wigo{Uuid: uuid, Version: "loadgen", IsAlive: true, GlobalStatus: 100, Hostname: uuid,
		LocalHost: &model.Host{Name: uuid, Group: "loadgen", Status: 100, Probes: map[string]*model.ProbeResult{}}, RemoteWigos: map[string]*model.Wigo{}}}
	for p := range probes {
		name := "probe" + strconv.Itoa(p)
		h.names = append(h.names, name)
		h.status = append(h.status, 100)
		h.doc.LocalHost.Probes[name] = result(name, 100)
	}
	return h
}

func result(name string, status int) *model.ProbeResult {
	now := time.Now()
	return &model.ProbeResult{Name: name, Version: "0.1", Status: status, Message: name + " says " + strconv.Itoa(status),
		Timestamp: now.Unix(), ProbeDate: model.FormatDate(now), Value: json.RawMessage(`1`),
		Metrics: []model.Metric{{Tags: map[string]string{"k": "v"}, Value: rand.Float64()}}}
}

type deltaOp struct {
	Path  []string        `json:"p"`
	Value json.RawMessage `json:"v"`
}

// renew renews every probe's result, changing the status of a share of
// them.
func (h *host) renew(change float64) {
	for i, name := range h.names {
		if rand.Float64() < change {
			if h.status[i] == 100 {
				h.status[i] = 300
			} else {
				h.status[i] = 100
			}
		}
		h.doc.LocalHost.Probes[name] = result(name, h.status[i])
	}
}

// delta renews the probes and returns the push delta carrying them.
func (h *host) delta(change float64) []byte {
	h.renew(change)
	ops := make([]deltaOp, 0, len(h.names))
	for _, name := range h.names {
		b, _ := json.Marshal(h.doc.LocalHost.Probes[name])
		ops = append(ops, deltaOp{Path: []string{"LocalHost", "Probes", name}, Value: b})
	}
	b, _ := json.Marshal(ops)
	return b
}

func session(ctx context.Context, o options, master string, h *host, sig *[]byte, st *stats) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a load generator trusts its master
	conn, err := d.DialContext(sctx, "tcp", master)
	if err != nil {
		return false, fmt.Errorf("dial: %w", err)
	}
	stream := pushpb.NewClientConn(conn, 1<<20)
	defer stream.Close()
	defer context.AfterFunc(sctx, func() { _ = stream.Close() })()
	uuid := h.doc.Uuid
	proof, err := pushpb.KeyProof(conn.(*tls.Conn), h.key, uuid)
	if err != nil {
		return false, fmt.Errorf("key proof: %w", err)
	}
	if err := stream.Send(&pushpb.ClientMessage{Body: &pushpb.ClientMessage_Hello{Hello: &pushpb.Hello{
		ProtocolVersion: 2, Uuid: uuid, Hostname: uuid, Signature: *sig, ClientVersion: "loadgen",
		PublicKey: h.key.Public().(ed25519.PublicKey), KeyProof: proof}}}); err != nil {
		return false, fmt.Errorf("hello: %w", err)
	}
	m, err := stream.Recv()
	if err != nil {
		if c := status.Code(err); c == codes.PermissionDenied || c == codes.Unauthenticated {
			*sig = nil // register again, as the real client does
		}
		return false, fmt.Errorf("welcome: %w", err)
	}
	w := m.GetWelcome()
	if w.GetState() != pushpb.Welcome_STATE_ACCEPTED {
		return false, fmt.Errorf("not accepted (%v): run the master with auto_accept = true", w.GetState())
	}
	if len(w.GetSignature()) > 0 {
		*sig = w.GetSignature()
	}
	st.connected.Add(1)
	st.sessions.Add(1)
	defer st.connected.Add(-1)

	var mu sync.Mutex
	pending := map[uint64]time.Time{}
	errc := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				errc <- err
				return
			}
			if a := m.GetAck(); a != nil {
				mu.Lock()
				if t, ok := pending[a.GetSeq()]; ok {
					st.latency(time.Since(t))
					delete(pending, a.GetSeq())
				}
				mu.Unlock()
				st.acked.Add(1)
			}
		}
	}()
	send := func(seq uint64, msg *pushpb.ClientMessage) error {
		mu.Lock()
		pending[seq] = time.Now()
		mu.Unlock()
		msg.Seq = seq
		st.sent.Add(1)
		return stream.Send(msg)
	}
	snap, _ := json.Marshal(h.doc)
	seq := uint64(1)
	if err := send(seq, &pushpb.ClientMessage{Body: &pushpb.ClientMessage_Snapshot{Snapshot: &pushpb.Document{Json: snap}}}); err != nil {
		return true, fmt.Errorf("snapshot: %w", err)
	}
	// A random phase: hosts' probes do not all report in the same second.
	timer := time.NewTimer(time.Duration(rand.Int64N(int64(o.interval))))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case err := <-errc:
			if strings.Contains(err.Error(), "EOF") {
				return true, errors.New("master closed the session")
			}
			return true, err
		case <-timer.C:
			timer.Reset(o.interval)
			seq++
			if err := send(seq, &pushpb.ClientMessage{Body: &pushpb.ClientMessage_Delta{Delta: &pushpb.Document{Json: h.delta(o.change)}}}); err != nil {
				return true, fmt.Errorf("delta: %w", err)
			}
		}
	}
}

// procCPU returns the utime+stime of pids (children excluded), summed.
func procCPU(pids []int) (time.Duration, bool) {
	var total time.Duration
	for _, pid := range pids {
		d, ok := pidCPU(pid)
		if !ok {
			return 0, false
		}
		total += d
	}
	return total, len(pids) > 0
}

func pidCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which may contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut+stt) * time.Second / hz, true
}

// procRSS returns the resident set of pids in bytes, summed.
func procRSS(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		total += pidRSS(pid)
	}
	return total
}

func pidRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v * 1024
			}
		}
	}
	return 0
}
