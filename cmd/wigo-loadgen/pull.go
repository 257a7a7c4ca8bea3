package main

// The pull half: N simulated remotes whose GET /api a master's
// transport-pull plugin polls.
//
//	wigo-loadgen pull -n 1000 -listen-port 4950 -config pull.hcl -duration 0
//	# add pull.hcl's block to the master's config, start the master, then:
//	wigo-loadgen pull -n 1000 -listen-port 4950 -duration 60s -pid <wigo>,<transport-pull>
//
// The mix is a real fleet's: each remote's probes run every
// -probe-interval (60 s by default) while the master polls every
// -check-interval (10 s), so most polls find an unchanged document. Each
// remote tags its answer with an ETag and answers a matching If-None-Match
// with 304, as this project's daemon does; -original answers as the
// original Wigo instead: no ETag, If-None-Match ignored, gzip streamed
// without a Content-Length.
//
// Remote i answers on its own loopback address (127.1.0.1, 127.1.0.2, …,
// skipping .0 and .255 in the last octet; Linux routes all of 127.0.0.0/8
// to lo), so the master sees N distinct remotes. One listener on 0.0.0.0
// serves them all and tells them apart by the connection's local address.
// Each remote's document is encoded (plain and gzip) once per -interval,
// when its probes are renewed, never per poll, so the load generator's own
// CPU stays small next to the master's.
//
// -config FILE writes the master's transport "pull" block naming every
// remote. With -duration 0 it is written and the command exits (the block
// only depends on -n, -listen-port and -check-interval, so the master can
// be started before the remotes exist); otherwise it is written once the
// listener is up, so its presence means the remotes answer.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// remotesPerOctet is how many remotes fit in one 127.X.Y.0/24: the last
// octet skips 0 and 255, which some stacks treat as network and broadcast.
const remotesPerOctet = 254

// maxRemotes is the number of addresses from 127.1.0.1 to 127.255.255.254.
const maxRemotes = 255 * 256 * remotesPerOctet

// pullOptions are runPull's flags.
type pullOptions struct {
	n, probes     int
	interval      time.Duration
	change        float64
	port          int
	duration      time.Duration
	settle        time.Duration
	checkInterval time.Duration
	pids          []int
	prefix        string
	configFile    string
	closeEachPoll bool
	// original answers as the original Wigo: no ETag, no 304.
	original bool
}

// pullRemote is one simulated remote: its document, renewed by one
// goroutine, and the encodings the handler serves.
type pullRemote struct {
	addr  string // ip:port, as the master's config names it
	host  *host  // owned by the renewing goroutine
	enc   atomic.Pointer[encodedDoc]
	polls atomic.Int64
}

// encodedDoc is a remote's document ready to write: plain JSON and gzip,
// and the ETag naming this version of it.
type encodedDoc struct {
	plain, gz []byte
	etag      string
}

// generation numbers the encoded documents of every remote, so that no two
// versions share an ETag.
var generation atomic.Uint64

// remoteKey carries the connection's *pullRemote (nil when the connection
// reached an address that is no remote) from ConnContext to the handler.
type remoteKey struct{}

// remoteIP returns remote i's loopback address: 127.1.0.1 for 0, then the
// last octet runs 1..254 before the third one moves on.
func remoteIP(i int) net.IP {
	z := i%remotesPerOctet + 1
	rest := i / remotesPerOctet
	return net.IPv4(127, byte(1+rest/256), byte(rest%256), byte(z))
}

// remoteIndex is remoteIP's inverse; ok is false for an address outside
// the scheme.
func remoteIndex(ip net.IP) (int, bool) {
	v4 := ip.To4()
	if v4 == nil || v4[0] != 127 || v4[1] == 0 || v4[3] == 0 || v4[3] == 255 {
		return 0, false
	}
	return (int(v4[1]-1)*256+int(v4[2]))*remotesPerOctet + int(v4[3]) - 1, true
}

// runPull serves the simulated remotes until ctx ends or -settle plus
// -duration have passed, then prints the master's cost per poll.
func runPull(ctx context.Context, args []string, out io.Writer) error {
	var o pullOptions
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 1000, "simulated remotes (hosts)")
	fs.IntVar(&o.probes, "probes", 20, "probes per remote")
	fs.DurationVar(&o.interval, "probe-interval", 60*time.Second, "how often each remote renews its probe results (its document changes)")
	fs.DurationVar(&o.interval, "interval", 60*time.Second, "same as -probe-interval")
	fs.BoolVar(&o.original, "original", false, "answer as the original Wigo: no ETag, If-None-Match ignored, gzip without Content-Length")
	fs.Float64Var(&o.change, "change", 0.01, "share of probe statuses changing per interval")
	fs.IntVar(&o.port, "listen-port", 4950, "port every remote listens on, each on its own 127.X.Y.Z (0 = any free port, not with -duration 0)")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "measurement window after -settle; 0 with -config = write the block and exit")
	fs.DurationVar(&o.settle, "settle", 10*time.Second, "time for the master's pollers to find every remote (their first poll is spread over check_interval) before the window starts")
	fs.DurationVar(&o.checkInterval, "check-interval", 10*time.Second, "check_interval written into the -config block")
	pidList := fs.String("pid", "", "master's PIDs, comma-separated (the daemon and its transport-pull plugin), to sample their CPU and RSS")
	fs.StringVar(&o.prefix, "prefix", "loadgen-pull", "UUID and hostname prefix (keep it apart from push clients')")
	fs.StringVar(&o.configFile, "config", "", "write the master's transport \"pull\" block naming every remote to this file")
	fs.BoolVar(&o.closeEachPoll, "close", false, "answer with Connection: close, so no connection stays open per remote (n beyond the file descriptor limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
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
	switch {
	case o.n < 1 || o.n > maxRemotes:
		return fmt.Errorf("-n %d: need 1 to %d", o.n, maxRemotes)
	case o.probes < 1 || o.interval <= 0 || o.checkInterval <= 0:
		return errors.New("need probes >= 1, interval > 0, check-interval > 0")
	case o.port < 0 || o.port > 65535:
		return fmt.Errorf("-listen-port %d: need 0 to 65535", o.port)
	case o.duration < 0 || o.settle < 0:
		return errors.New("need duration >= 0, settle >= 0")
	case o.duration == 0 && o.configFile == "":
		return errors.New("-duration 0 only makes sense with -config")
	case o.duration == 0 && o.port == 0:
		return errors.New("-duration 0 writes a block for later: it needs a fixed -listen-port")
	}
	if o.duration == 0 {
		if err := writePullConfig(o.configFile, o.n, o.port, o.checkInterval); err != nil {
			return err
		}
		fmt.Fprintf(out, "wigo-loadgen: wrote the transport \"pull\" block for %d remotes to %s\n", o.n, o.configFile)
		return nil
	}

	// Listen before encoding the documents, so a busy port fails at once.
	ln, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(o.port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	o.port = ln.Addr().(*net.TCPAddr).Port

	remotes := make([]*pullRemote, o.n)
	for i := range remotes {
		uuid := fmt.Sprintf("%s-%06d", o.prefix, i)
		r := &pullRemote{addr: net.JoinHostPort(remoteIP(i).String(), strconv.Itoa(o.port)), host: newHost(uuid, o.probes)}
		if err := r.encode(); err != nil {
			return err
		}
		remotes[i] = r
	}
	var total, notModified atomic.Int64
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			serveRemote(w, req, o.original, &total, &notModified)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			var r *pullRemote
			if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
				if i, ok := remoteIndex(a.IP); ok && i < len(remotes) {
					r = remotes[i]
				}
			}
			return context.WithValue(ctx, remoteKey{}, r)
		},
		ReadHeaderTimeout: 30 * time.Second,
		// The master keeps one idle connection per remote between polls.
		IdleTimeout: 10 * time.Minute,
	}
	srv.SetKeepAlivesEnabled(!o.closeEachPoll)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if o.configFile != "" {
		if err := writePullConfig(o.configFile, o.n, o.port, o.checkInterval); err != nil {
			return err
		}
	}

	runCtx, cancel := context.WithTimeout(ctx, o.settle+o.duration)
	began := time.Now()
	var wg sync.WaitGroup
	// The renewers end with runCtx, also on an early return.
	defer wg.Wait()
	defer cancel()
	var encodeErr atomic.Value
	for _, r := range remotes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.renewEvery(runCtx, o.interval, o.change); err != nil {
				encodeErr.Store(err.Error())
			}
		}()
	}
	fmt.Fprintf(out, "wigo-loadgen: %d remotes × %d probes renewed every %v on %s … %s (close=%v original=%v)\n",
		o.n, o.probes, o.interval, remotes[0].addr, remotes[len(remotes)-1].addr, o.closeEachPoll, o.original)

	// The window starts once the master has had time to poll every remote.
	select {
	case <-time.After(o.settle):
	case <-runCtx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	master := sampleMaster(o.pids)
	self0, _ := pidCPU(os.Getpid())
	polls0, nm0 := total.Load(), notModified.Load()
	last, lastT := polls0, time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case now := <-tick.C:
			n := total.Load()
			rss := master.rss()
			fmt.Fprintf(out, "%6.0fs polls=%d (%.0f/s) remotes_polled=%d/%d master_rss=%s\n",
				time.Since(began).Seconds(), n, float64(n-last)/now.Sub(lastT).Seconds(), polled(remotes), o.n, mb(rss))
			last, lastT = n, now
		}
	}
	elapsed := master.elapsed()
	polls := total.Load() - polls0
	masterLine := master.finish("pulled update", polls, o.n)
	self1, _ := pidCPU(os.Getpid())
	lo, hi := pollSpread(remotes)
	fmt.Fprintf(out, "window %v: %d polls served (%.0f/s, %d answered 304), %d/%d remotes polled (%d to %d polls each since start), loadgen %.3f cores\n",
		elapsed.Round(time.Second), polls, float64(polls)/elapsed.Seconds(), notModified.Load()-nm0, polled(remotes), o.n, lo, hi, (self1-self0).Seconds()/elapsed.Seconds())
	if e, _ := encodeErr.Load().(string); e != "" {
		fmt.Fprintf(out, "encode error: %s\n", e)
	}
	fmt.Fprint(out, masterLine)
	return nil
}

// serveRemote answers GET /api with the connection's remote's document,
// gzipped when the client accepts it (transport-pull asks for it), tagged
// with its ETag and answered 304 to a matching If-None-Match unless
// original is set. Every GET counts in total, 304s in notModified too.
func serveRemote(w http.ResponseWriter, req *http.Request, original bool, total, notModified *atomic.Int64) {
	r, _ := req.Context().Value(remoteKey{}).(*pullRemote)
	if r == nil || (req.URL.Path != "/api" && req.URL.Path != "/api/") {
		http.NotFound(w, req)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	doc := r.enc.Load()
	body := doc.plain
	h := w.Header()
	if !original {
		h.Set("ETag", doc.etag)
		if req.Header.Get("If-None-Match") == doc.etag {
			w.WriteHeader(http.StatusNotModified)
			if req.Method == http.MethodGet {
				r.polls.Add(1)
				total.Add(1)
				notModified.Add(1)
			}
			return
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Vary", "Accept-Encoding")
	gz := acceptsGzip(req.Header.Get("Accept-Encoding"))
	if gz {
		body = doc.gz
		h.Set("Content-Encoding", "gzip")
	}
	streamed := gz && original
	if !streamed {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok && streamed {
		// The original streams its gzip through a middleware: the headers
		// go first, chunked, with no length.
		f.Flush()
	}
	if req.Method == http.MethodGet {
		_, _ = w.Write(body)
		r.polls.Add(1)
		total.Add(1)
	}
}

// acceptsGzip is a loose reading of Accept-Encoding: enough for Go's
// transport and curl --compressed, which is who polls a load generator.
func acceptsGzip(v string) bool {
	for _, part := range strings.Split(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// encode publishes the host's current document. BestSpeed: the loadgen
// re-encodes every remote every interval and must stay cheap.
func (r *pullRemote) encode() error {
	plain, err := json.Marshal(r.host.doc)
	if err != nil {
		return fmt.Errorf("encode %s: %w", r.host.doc.Uuid, err)
	}
	var buf bytes.Buffer
	buf.Grow(len(plain) / 4)
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(plain); err != nil {
		return fmt.Errorf("gzip %s: %w", r.host.doc.Uuid, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("gzip %s: %w", r.host.doc.Uuid, err)
	}
	r.enc.Store(&encodedDoc{plain: plain, gz: buf.Bytes(), etag: `"` + strconv.FormatUint(generation.Add(1), 16) + `"`})
	return nil
}

// renewEvery renews the remote's probe results every interval, from a
// random phase so the remotes do not all re-encode in the same instant.
func (r *pullRemote) renewEvery(ctx context.Context, interval time.Duration, change float64) error {
	t := time.NewTimer(time.Duration(rand.Int64N(int64(interval))))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t.Reset(interval)
		r.host.renew(change)
		worst := 0
		for _, s := range r.host.status {
			worst = max(worst, s)
		}
		d := r.host.doc
		d.GlobalStatus, d.LocalHost.Status, d.LastUpdate = worst, worst, time.Now().Unix()
		if err := r.encode(); err != nil {
			return err
		}
	}
}

// polled counts the remotes polled at least once.
func polled(remotes []*pullRemote) int {
	n := 0
	for _, r := range remotes {
		if r.polls.Load() > 0 {
			n++
		}
	}
	return n
}

// pollSpread returns the fewest and most polls any remote served: a
// remote far behind the others means the master lost track of it.
func pollSpread(remotes []*pullRemote) (int64, int64) {
	lo, hi := remotes[0].polls.Load(), int64(0)
	for _, r := range remotes {
		p := r.polls.Load()
		lo, hi = min(lo, p), max(hi, p)
	}
	return lo, hi
}

// writePullConfig writes the master's transport "pull" block naming the n
// remotes, through a temporary file so a reader never sees half a block.
func writePullConfig(path string, n, port int, checkInterval time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# wigo-loadgen pull: %d remotes, %s to %s, port %d\n", n, remoteIP(0), remoteIP(n-1), port)
	b.WriteString("transport \"pull\" {\n")
	fmt.Fprintf(&b, "  check_interval = %s\n", strconv.FormatFloat(checkInterval.Seconds(), 'f', -1, 64))
	b.WriteString("  remotes = [\n")
	for i := range n {
		fmt.Fprintf(&b, "    %q,\n", net.JoinHostPort(remoteIP(i).String(), strconv.Itoa(port)))
	}
	b.WriteString("  ]\n}\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), ".pull-*.hcl")
	if err != nil {
		return fmt.Errorf("write -config: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write -config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write -config %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write -config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write -config %s: %w", path, err)
	}
	return nil
}
