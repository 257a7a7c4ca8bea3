package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

const version = "1.0.0"

// Address selection policies.
const (
	balanceFailover   = "failover"    // stick to the first address that works
	balanceRoundRobin = "round-robin" // spread requests over every address
)

// config is the decoded output block; json tags are the attribute names.
type config struct {
	Address            []string          `json:"address"`
	TLS                bool              `json:"tls"`
	InsecureSkipVerify bool              `json:"insecure_skip_verify"`
	MetricPrefix       string            `json:"metric_prefix"`
	Tags               map[string]string `json:"tags"`
	Deduplication      float64           `json:"deduplication"`
	BufferSize         float64           `json:"buffer_size"`
	BatchSize          float64           `json:"batch_size"`
	Gzip               bool              `json:"gzip"`
	LoadBalance        string            `json:"load_balance"`
	Timeout            string            `json:"timeout"`
	MaxRetryInterval   string            `json:"max_retry_interval"`
}

// point is one OpenTSDB data point as /api/put takes it.
type point struct {
	Metric    string            `json:"metric"`
	Timestamp int64             `json:"timestamp"`
	Value     float64           `json:"value"`
	Tags      map[string]string `json:"tags"`
}

// seen is the last value accepted for a series, for deduplication.
type seen struct {
	value float64
	ts    int64 // Unix ms
}

// output buffers points and sends them from one goroutine, so Write never
// waits on OpenTSDB: the core's probes and other outputs are never held up
// by it, and the buffer (buffer_size) is what rides out an outage.
type output struct {
	log hclog.Logger
	now func() time.Time

	mu sync.Mutex
	// Settings, fixed by Configure.
	addrs     []string
	scheme    string
	prefix    string
	extra     map[string]string
	dedup     int64 // ms; 0 = off
	bufSize   int
	batchSize int
	gzip      bool
	rr        bool
	maxRetry  time.Duration
	client    *http.Client

	buf []point
	// evicted counts points trim removed from the front of buf, so the
	// sender knows how much of an in-flight batch is still there.
	evicted uint64
	// lost counts points dropped since the last Write reported them, by
	// cause; reported through Write's error so the core counts them.
	lostFull, lostRejected int
	lastErr                error
	// fullLogged and fullUnlogged rate-limit the overflow warning to one
	// line a minute during a long outage; the core counts every point.
	fullLogged   time.Time
	fullUnlogged int
	// next is the address index the next request starts with.
	next      int
	series    map[string]seen
	lastPrune int64
	// latest is the newest point time seen (Unix ms): deduplication works
	// in the points' time, which for remote hosts is not this clock's.
	latest int64
	// stats for the log and tests.
	sent, requests uint64

	kick chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

var (
	_ sdk.Output = (*output)(nil)
	_ sdk.Closer = (*output)(nil)
)

func newOutput() *output {
	return &output{log: sdk.Logger(), now: time.Now}
}

// Schema implements sdk.Output.
func (*output) Schema() sdk.Schema {
	return sdk.Schema{Attributes: []sdk.Attribute{
		{Name: "address", Type: sdk.TypeListString, Required: true,
			Description: `OpenTSDB servers as "host:port"; tried in order (failover) or in turn (round-robin).`},
		{Name: "tls", Type: sdk.TypeBool, Default: false, Description: "Use HTTPS."},
		{Name: "insecure_skip_verify", Type: sdk.TypeBool, Default: false, Description: "Accept any TLS certificate; for test setups only."},
		{Name: "metric_prefix", Type: sdk.TypeString, Default: "wigo", Description: `Metric names are "<metric_prefix>.<probe>"; "" for just the probe name.`},
		{Name: "tags", Type: sdk.TypeMapString, Default: map[string]string{}, Description: "Extra tags added to every point."},
		{Name: "deduplication", Type: sdk.TypeNumber, Default: 600,
			Description: "Seconds during which an unchanged value of a series is not sent again; 0 sends every value."},
		{Name: "buffer_size", Type: sdk.TypeNumber, Default: 10000,
			Description: "Points kept while OpenTSDB is unreachable; beyond it the oldest are dropped."},
		{Name: "batch_size", Type: sdk.TypeNumber, Default: 500, Description: "Most points in one /api/put request."},
		{Name: "gzip", Type: sdk.TypeBool, Default: false, Description: "Gzip request bodies."},
		{Name: "load_balance", Type: sdk.TypeString, Default: balanceFailover, Description: `"failover" or "round-robin".`},
		{Name: "timeout", Type: sdk.TypeString, Default: "10s", Description: "Time allowed for one request (Go duration)."},
		{Name: "max_retry_interval", Type: sdk.TypeString, Default: "30s",
			Description: "Longest wait between two attempts while OpenTSDB is unreachable (the wait starts at 1 s or this, whichever is smaller, and doubles)."},
	}}
}

// Configure implements sdk.Output. It may run again after the process was
// restarted; a second call in the same process replaces the settings and
// the sender, keeping the buffered points.
func (o *output) Configure(_ context.Context, c sdk.Config) error {
	var cfg config
	if err := c.Decode(&cfg); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	if len(cfg.Address) == 0 {
		return errors.New("address: at least one host:port is needed")
	}
	for _, a := range cfg.Address {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return fmt.Errorf("address %q: want host:port (OpenTSDB listens on 4242 by default)", a)
		}
	}
	if cfg.MetricPrefix != "" && sdk.SanitizeTag(cfg.MetricPrefix) != cfg.MetricPrefix {
		return fmt.Errorf("metric_prefix %q: only letters, digits and - _ . / are allowed", cfg.MetricPrefix)
	}
	for k, v := range cfg.Tags {
		if k == "" || v == "" || sdk.SanitizeTag(k) != k || sdk.SanitizeTag(v) != v {
			return fmt.Errorf("tags: %q = %q: keys and values must be non-empty, letters, digits and - _ . / only", k, v)
		}
	}
	if cfg.Deduplication < 0 || cfg.BufferSize < 1 || cfg.BatchSize < 1 {
		return fmt.Errorf("deduplication (%g) must be >= 0, buffer_size (%g) and batch_size (%g) >= 1",
			cfg.Deduplication, cfg.BufferSize, cfg.BatchSize)
	}
	switch cfg.LoadBalance {
	case balanceFailover, balanceRoundRobin:
	default:
		return fmt.Errorf("load_balance %q: want %q or %q", cfg.LoadBalance, balanceFailover, balanceRoundRobin)
	}
	timeout, err := sdk.ParseDuration("timeout", cfg.Timeout)
	if err != nil {
		return err
	}
	maxRetry, err := sdk.ParseDuration("max_retry_interval", cfg.MaxRetryInterval)
	if err != nil {
		return err
	}
	if cfg.InsecureSkipVerify {
		o.log.Warn("insecure_skip_verify is set: OpenTSDB's certificate is not checked")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}

	o.stopSender()
	o.mu.Lock()
	o.addrs = slices.Clone(cfg.Address)
	o.scheme = "http"
	if cfg.TLS {
		o.scheme = "https"
	}
	o.prefix = cfg.MetricPrefix
	o.extra = cfg.Tags
	o.dedup = int64(cfg.Deduplication * 1000)
	o.bufSize = int(cfg.BufferSize)
	o.batchSize = int(cfg.BatchSize)
	o.gzip = cfg.Gzip
	o.rr = cfg.LoadBalance == balanceRoundRobin
	o.maxRetry = maxRetry
	o.client = &http.Client{Timeout: timeout, Transport: tr}
	if o.series == nil {
		o.series = make(map[string]seen)
	}
	o.kick = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	o.stop, o.done = cancel, make(chan struct{})
	done := o.done
	o.mu.Unlock()
	go func() {
		defer close(done)
		o.sender(ctx)
	}()
	o.log.Info("opentsdb output configured", "instance", c.Instance(), "address", cfg.Address,
		"tls", cfg.TLS, "metric_prefix", cfg.MetricPrefix, "deduplication", cfg.Deduplication,
		"buffer_size", o.bufSize, "batch_size", o.batchSize, "load_balance", cfg.LoadBalance)
	return nil
}

func (o *output) stopSender() {
	o.mu.Lock()
	stop, done := o.stop, o.done
	o.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Write implements sdk.Output: it turns metrics into points, leaves out
// the ones deduplication suppresses, buffers the rest for the sender and
// returns at once. Points lost since the previous Write (buffer overflow,
// rejected by OpenTSDB) are reported in the returned error as "dropped N
// points", which the core counts in wigo_output_points_dropped_total.
func (o *output) Write(_ context.Context, ms []sdk.Metric) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		return errors.New("not configured")
	}
	now := o.now().UnixMilli()
	for i := range ms {
		p, ok := o.point(&ms[i], now)
		if !ok {
			continue
		}
		o.buf = append(o.buf, p)
	}
	o.trim()
	o.prune()
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return o.report()
}

// point builds the point for m, or false when deduplication suppresses it
// or OpenTSDB could not store it (NaN or infinite value). mu is held.
func (o *output) point(m *sdk.Metric, now int64) (point, bool) {
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
		o.lostRejected++
		return point{}, false
	}
	name := sdk.SanitizeTag(m.Probe)
	if o.prefix != "" {
		name = o.prefix + "." + name
	}
	tags := make(map[string]string, len(m.Tags)+len(o.extra)+2)
	for k, v := range o.extra {
		tags[k] = v
	}
	for k, v := range m.Tags {
		if k, v = sdk.SanitizeTag(strings.ToLower(k)), sdk.SanitizeTag(v); k != "" && v != "" {
			tags[k] = v
		}
	}
	if h := sdk.SanitizeTag(m.Hostname); h != "" {
		tags["hostname"] = h
	}
	if g := sdk.SanitizeTag(m.Group); g != "" {
		tags["group"] = g
	}
	ts := now
	if !m.Time.IsZero() {
		ts = m.Time.UnixMilli()
	}
	if ts%1000 == 0 {
		ts /= 1000 // seconds, the common case, keeps requests short
	}
	p := point{Metric: name, Timestamp: ts, Value: m.Value, Tags: tags}
	if o.dedup > 0 {
		key := seriesKey(name, tags)
		ms := m.Time.UnixMilli()
		if m.Time.IsZero() {
			ms = now
		}
		if s, ok := o.series[key]; ok && s.value == m.Value && ms >= s.ts && ms-s.ts < o.dedup {
			return point{}, false
		}
		o.series[key] = seen{value: m.Value, ts: ms}
		o.latest = max(o.latest, ms)
	}
	return p, true
}

// prune forgets series not sent for a deduplication period, so the map
// does not grow with series that went away. mu is held.
func (o *output) prune() {
	now := o.latest
	if o.dedup == 0 || now-o.lastPrune < o.dedup {
		return
	}
	o.lastPrune = now
	for k, s := range o.series {
		if now-s.ts >= o.dedup {
			delete(o.series, k)
		}
	}
}

// trim drops the oldest points beyond buffer_size. mu is held.
func (o *output) trim() {
	if over := len(o.buf) - o.bufSize; over > 0 {
		o.buf = slices.Delete(o.buf, 0, over)
		o.lostFull += over
		o.evicted += uint64(over)
	}
}

// report returns the losses since the last report as an error. mu is held.
func (o *output) report() error {
	if o.lostFull == 0 && o.lostRejected == 0 {
		return nil
	}
	var why []string
	if o.lostFull > 0 {
		why = append(why, fmt.Sprintf("%d over buffer_size (%d) while OpenTSDB was unreachable", o.lostFull, o.bufSize))
		o.fullUnlogged += o.lostFull
		if now := o.now(); now.Sub(o.fullLogged) >= time.Minute {
			o.log.Warn("buffer full, oldest points dropped", "points", o.fullUnlogged, "buffer_size", o.bufSize, "error", o.lastErr)
			o.fullLogged, o.fullUnlogged = now, 0
		}
	}
	if o.lostRejected > 0 {
		why = append(why, fmt.Sprintf("%d rejected by OpenTSDB", o.lostRejected))
	}
	err := fmt.Errorf("dropped %d points: %s", o.lostFull+o.lostRejected, strings.Join(why, ", "))
	o.lostFull, o.lostRejected = 0, 0
	return err
}

// sender posts buffered points, a batch at a time, until ctx ends. When
// every address fails it waits (1 s doubling up to max_retry_interval)
// before trying again; new points keep being buffered meanwhile.
func (o *output) sender(ctx context.Context) {
	o.mu.Lock()
	kick, maxRetry := o.kick, o.maxRetry
	o.mu.Unlock()
	minRetry := min(time.Second, maxRetry)
	wait := minRetry
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		for {
			o.mu.Lock()
			n := min(len(o.buf), o.batchSize)
			batch := slices.Clone(o.buf[:n])
			evicted := o.evicted
			o.mu.Unlock()
			if n == 0 {
				break
			}
			rejected, err := o.post(ctx, batch)
			o.mu.Lock()
			if err != nil {
				o.lastErr = err
				buffered := len(o.buf)
				o.mu.Unlock()
				o.log.Warn("opentsdb unreachable, points kept for later", "points", n, "buffered", buffered, "retry_in", wait.String(), "error", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				wait = min(wait*2, maxRetry)
				continue
			}
			wait = minRetry
			// The batch went. Points evicted meanwhile were the oldest,
			// i.e. the front of the batch: only what is left of it goes.
			left := max(0, n-int(o.evicted-evicted))
			o.buf = slices.Delete(o.buf, 0, min(left, len(o.buf)))
			o.sent += uint64(n - rejected)
			o.lostRejected += rejected
			o.mu.Unlock()
		}
	}
}

// Close implements sdk.Closer: the host is stopping the plugin (shutdown,
// or its block removed or changed by a reload), so the buffer is posted
// now rather than lost with the process, retrying an unreachable OpenTSDB
// until ctx's deadline. What is still buffered then is reported.
func (o *output) Close(ctx context.Context) error {
	o.stopSender()
	o.mu.Lock()
	configured, maxRetry := o.client != nil, o.maxRetry
	o.mu.Unlock()
	if !configured {
		return nil
	}
	wait := min(100*time.Millisecond, maxRetry)
	var lastErr error
	flushed := 0
	for {
		o.mu.Lock()
		n := min(len(o.buf), o.batchSize)
		batch := slices.Clone(o.buf[:n])
		o.mu.Unlock()
		if n == 0 {
			if flushed > 0 {
				o.log.Info("buffered points flushed on close", "points", flushed)
			}
			return nil
		}
		rejected, err := o.post(ctx, batch)
		if err == nil {
			o.mu.Lock()
			o.buf = slices.Delete(o.buf, 0, n)
			o.sent += uint64(n - rejected)
			o.lostRejected += rejected
			o.mu.Unlock()
			flushed += n
			continue
		}
		lastErr = err
		select {
		case <-ctx.Done():
			o.mu.Lock()
			left := len(o.buf)
			o.mu.Unlock()
			return &sdk.UnflushedError{N: left, Err: fmt.Errorf("opentsdb unreachable until the close deadline: %w", lastErr)}
		case <-time.After(wait):
		}
		wait = min(wait*2, maxRetry)
	}
}

// putResponse is /api/put?details's answer.
type putResponse struct {
	Success int `json:"success"`
	Failed  int `json:"failed"`
	Errors  []struct {
		Datapoint json.RawMessage `json:"datapoint"`
		Error     string          `json:"error"`
	} `json:"errors"`
}

// post sends one batch, trying each address once. It returns how many
// points OpenTSDB rejected (logged, not retried: they would be rejected
// again), or an error when no address took the batch.
func (o *output) post(ctx context.Context, batch []point) (rejected int, err error) {
	body, err := o.encode(batch)
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	addrs, start, scheme, gz, client := o.addrs, o.next, o.scheme, o.gzip, o.client
	if o.rr {
		o.next = (o.next + 1) % len(o.addrs)
	}
	o.requests++
	o.mu.Unlock()
	var errs []error
	for i := range addrs {
		idx := (start + i) % len(addrs)
		addr := addrs[idx]
		rejected, err := o.postTo(ctx, client, scheme+"://"+addr+"/api/put?details", body, gz, len(batch))
		if err == nil {
			if !o.rr && idx != start {
				o.mu.Lock()
				o.next = idx // failover: stay on the address that works
				o.mu.Unlock()
				o.log.Info("opentsdb failover", "address", addr)
			}
			return rejected, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return 0, errors.Join(errs...)
}

func (o *output) encode(batch []point) ([]byte, error) {
	var b bytes.Buffer
	var w io.Writer = &b
	var zw *gzip.Writer
	if o.gzip {
		zw = gzip.NewWriter(&b)
		w = zw
	}
	if err := json.NewEncoder(w).Encode(batch); err != nil {
		return nil, fmt.Errorf("encode points: %w", err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip points: %w", err)
		}
	}
	return b.Bytes(), nil
}

// postTo sends body to one URL. A 2xx or a 400 with details is an answer
// (the 400's failed points are rejected); anything else is an error that
// sends the batch to the next address.
func (o *output) postTo(ctx context.Context, client *http.Client, url string, body []byte, gz bool, n int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode/100 == 2:
		var pr putResponse
		if len(data) > 0 && json.Unmarshal(data, &pr) == nil && pr.Failed > 0 {
			o.logRejections(pr)
			return pr.Failed, nil
		}
		return 0, nil
	case resp.StatusCode == http.StatusBadRequest:
		var pr putResponse
		if json.Unmarshal(data, &pr) == nil && (pr.Failed > 0 || pr.Success > 0) {
			o.logRejections(pr)
			return pr.Failed, nil
		}
		// A 400 without details: the whole request was refused (malformed
		// for this server); resending it would be refused again.
		o.log.Error("opentsdb refused the whole batch", "points", n, "status", resp.Status, "body", snippet(data))
		return n, nil
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		o.log.Error("opentsdb refused the batch as too large: lower batch_size", "points", n, "status", resp.Status)
		return n, nil
	}
	return 0, fmt.Errorf("HTTP %s: %s", resp.Status, snippet(data))
}

// logRejections logs the first few points OpenTSDB refused, with its
// reason, so an operator can fix the probe or the tags.
func (o *output) logRejections(pr putResponse) {
	const show = 5
	for i, e := range pr.Errors {
		if i == show {
			o.log.Warn("more points rejected by opentsdb", "count", len(pr.Errors)-show)
			break
		}
		o.log.Warn("point rejected by opentsdb", "error", e.Error, "datapoint", string(e.Datapoint))
	}
	if len(pr.Errors) == 0 {
		o.log.Warn("points rejected by opentsdb", "failed", pr.Failed, "success", pr.Success)
	}
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// seriesKey identifies a series: the metric and its sorted tags.
func seriesKey(metric string, tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(metric)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(tags[k])
	}
	return b.String()
}

// stats is for tests: points sent and requests made.
func (o *output) stats() (sent, requests uint64, buffered int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sent, o.requests, len(o.buf)
}
