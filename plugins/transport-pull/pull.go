package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// puller polls every configured remote and ingests its /api document.
type puller struct {
	mu     sync.Mutex
	cfg    *config
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
	batch  *sdk.Batcher
	alive  *sdk.Batcher
	log    hclog.Logger
}

var _ sdk.Transport = (*puller)(nil)

// aliveLinger is how long an "answered, unchanged" update waits for
// others to share its call to the core. Nobody waits on it (it only moves
// when the remote was last heard of, against an alive_timeout of a minute
// by default), and at a poll every 10 s a thousand remotes make fifty of
// them per call instead of one or two: an unchanged poll then costs the
// core's gRPC hop next to nothing.
const aliveLinger = 500 * time.Millisecond

// run is what the pollers of one Start share; Configure may replace the
// puller's config meanwhile without touching it.
type run struct {
	client *http.Client
	// batch hands documents to the core: thousands of remotes polled
	// every few seconds cost one call per batch instead of one per poll.
	batch *sdk.Batcher
	// alive hands "answered, unchanged" updates, in bigger batches.
	alive *sdk.Batcher
	// events, when the core takes events, is told of a remote that has
	// not answered once (sdk.EventRemoteUnanswered).
	events      sdk.EventHost
	retries     int
	maxResponse int64
	log         hclog.Logger
}

func (*puller) Schema() sdk.Schema { return schema() }

func (p *puller) Configure(_ context.Context, c sdk.Config) error {
	cfg, err := parseConfig(c)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	return nil
}

// Start launches one poller per remote and returns at once: the pollers
// run until Stop, on their own context, since ctx ends with the Start call.
func (p *puller) Start(_ context.Context, host sdk.Host) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg == nil {
		return errors.New("start before configure")
	}
	p.stopLocked()
	if p.log == nil {
		p.log = sdk.Logger()
	}
	p.client = newClient(p.cfg.remotes)
	p.batch = sdk.NewBatcher(p.log, host)
	p.alive = sdk.NewBatcher(p.log, host, sdk.WithLinger(aliveLinger))
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	rn := &run{client: p.client, batch: p.batch, alive: p.alive, retries: p.cfg.retries, maxResponse: p.cfg.maxResponse, log: p.log}
	rn.events, _ = host.(sdk.EventHost)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		rn.schedule(ctx, p.cfg.remotes)
	}()
	if len(p.cfg.remotes) == 0 {
		p.log.Warn("no remote configured: nothing to poll")
	} else {
		p.log.Info("polling remotes", "remotes", len(p.cfg.remotes))
	}
	return nil
}

func (p *puller) Stop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopLocked()
	return nil
}

func (p *puller) stopLocked() {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
		p.cancel = nil
	}
	if p.client != nil {
		p.client.CloseIdleConnections()
		p.client = nil
	}
	for _, b := range []**sdk.Batcher{&p.batch, &p.alive} {
		if *b != nil {
			(*b).Close()
			*b = nil
		}
	}
}

// newClient builds the one client every poller shares. Its pool keeps an
// idle connection per remote alive across intervals, so a poll reuses its
// socket instead of leaving one in TIME_WAIT each time (the original left
// ~10,800 behind at 2,000 remotes).
func newClient(remotes []*remote) *http.Client {
	byAddr := make(map[string]*tls.Config, len(remotes))
	maxInterval := time.Duration(0)
	for _, r := range remotes {
		if r.tls != nil {
			byAddr[r.addr] = r.tls
		}
		maxInterval = max(maxInterval, r.interval)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:       nil, // remotes are reached directly, as the original did
		DialContext: dialer.DialContext,
		// One transport serves remotes with different CAs: the TLS config
		// is chosen by address at dial time.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg := byAddr[addr]
			if cfg == nil {
				return nil, fmt.Errorf("no TLS settings for %s", addr)
			}
			d := tls.Dialer{NetDialer: dialer, Config: cfg}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:          len(remotes) + 16,
		MaxIdleConnsPerHost:   max(2, len(remotes)),
		IdleConnTimeout:       max(90*time.Second, 3*maxInterval),
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 0, // the per-request context bounds it
	}
	return &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
		// /api never redirects; following one could leak credentials.
		return http.ErrUseLastResponse
	}}
}

// poll polls pl's remote once, and logs a failure when it starts or
// changes, and the recovery: a remote down for a day must not write a line
// every interval.
func (p *run) poll(ctx context.Context, pl *poller) {
	err := p.once(ctx, pl.r, &pl.seen)
	if ctx.Err() != nil {
		return
	}
	switch msg := errText(err); {
	case msg != "" && msg != pl.lastErr:
		pl.log.Warn("poll failed", "error", msg)
	case msg != "":
		pl.log.Debug("poll still failing", "error", msg)
	case pl.lastErr != "":
		pl.log.Info("remote answers again")
	}
	if err == nil {
		pl.answered = true
	} else if !pl.answered && p.events != nil && errText(err) != pl.lastErr {
		p.unanswered(ctx, pl.r, errText(err), pl.log)
	}
	pl.lastErr = errText(err)
}

// unanswered tells the core that r has not answered once since the start,
// so that it shows r DOWN rather than not at all.
func (p *run) unanswered(ctx context.Context, r *remote, reason string, log hclog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.events.Event(ctx, sdk.EventRemoteUnanswered, "", r.addr, reason); err != nil {
		log.Debug("the core takes no unanswered remote", "error", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// last is what a remote answered when its document was last accepted
// whole by the core, so that an unchanged answer is known as early as
// possible: by a 304 to If-None-Match (this project's /api tags its
// answers), or, from a remote that sends no ETag (the original Wigo), by the
// hash of its answer's bytes as read, before they are inflated or decoded.
// Either way the core is only told that the remote answered: it decodes
// nothing, diffs nothing, and still knows the remote alive.
//
// The hash is hash/maphash: in the standard library, hardware-assisted
// (several GB/s, against FNV-64a's byte at a time), and seeded at random
// per process, so a remote cannot pick an answer that collides with the
// last one (it could only hide a change of its own, but even that is out).
// Equal bytes under the same encoding are the same document.
type last struct {
	// uuid is the top host of the accepted document: the host the core is
	// told answered. Empty while nothing is accepted (first poll, or the
	// core asked for a document again).
	uuid string
	// etag is the remote's ETag for that answer; empty when it sent none.
	etag    string
	sum     uint64
	gzipped bool
}

// bodySeed seeds the hash of answers (see last).
var bodySeed = maphash.MakeSeed()

// once fetches the remote's document, with retries for transient
// failures, and ingests it, or only says the remote answered when the
// answer is the one seen last.
func (p *run) once(ctx context.Context, r *remote, seen *last) error {
	cheap := p.batch.TakesPatches()
	if !cheap {
		// A core that takes no patches cannot be told "unchanged".
		*seen = last{}
	}
	a, err := p.get(ctx, r, seen.etag)
	if err != nil {
		return err
	}
	if seen.uuid != "" && (a.notModified || (a.sum == seen.sum && a.gzipped == seen.gzipped)) {
		ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.alive.Ingest(ictx, sdk.Update{Source: r.addr, HostUUID: seen.uuid})
		cancel()
		if !errors.Is(err, sdk.ErrNeedDocument) {
			if err != nil {
				return fmt.Errorf("tell the core %s answered: %w", r.url, err)
			}
			return nil
		}
		// The core no longer holds the remote whole (it went DOWN here
		// meanwhile, or an operator removed it): it needs the document.
		*seen = last{}
		if a, err = p.get(ctx, r, ""); err != nil {
			return err
		}
	}
	if a.notModified {
		return fmt.Errorf("GET %s: 304 Not Modified to a request that was not conditional", r.url)
	}
	doc := a.body
	if a.gzipped {
		if doc, err = gunzip(doc, p.maxResponse); errors.Is(err, errTooLarge) {
			return fmt.Errorf("GET %s: answer larger than max_response_size (%d bytes)", r.url, p.maxResponse)
		} else if err != nil {
			return fmt.Errorf("GET %s: inflate: %w", r.url, err)
		}
	}
	uuid, doc, err := prepare(doc, r.depth)
	if err != nil {
		return fmt.Errorf("%s: %w", r.url, err)
	}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.batch.Ingest(ictx, sdk.Update{Source: r.addr, Document: doc}); err != nil {
		// Refused in part or whole: the next answer goes to the core whole
		// again, whatever it is, so the core keeps saying what is wrong.
		*seen = last{}
		return fmt.Errorf("hand %s to the core: %w", r.url, err)
	}
	if cheap {
		*seen = last{uuid: uuid, etag: a.etag, sum: a.sum, gzipped: a.gzipped}
	}
	return nil
}

// answer is what one GET of a remote's /api brought back.
type answer struct {
	// body is the answer as read: gzipped when gzipped is set.
	body    []byte
	gzipped bool
	// sum is the hash of body (see last).
	sum  uint64
	etag string
	// notModified: a 304 to If-None-Match; body is empty.
	notModified bool
}

// get fetches the remote's /api, conditionally when etag is set, retrying
// transient failures within the interval.
func (p *run) get(ctx context.Context, r *remote, etag string) (answer, error) {
	deadline := time.Now().Add(r.interval)
	for attempt := 0; ; attempt++ {
		a, retry, err := p.fetch(ctx, r, etag)
		if err == nil || !retry || attempt >= p.retries {
			return a, err
		}
		wait := time.Duration(attempt+1) * 200 * time.Millisecond
		if time.Now().Add(wait + r.timeout).After(deadline) {
			return a, err // the next poll is due anyway
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// fetch GETs the remote's /api once, with If-None-Match when etag is set.
// retry says whether the failure may be transient (network, timeout, 5xx).
// It asks for gzip itself rather than leaving it to net/http, so that the
// answer can be hashed as it came, before it is inflated: an unchanged
// answer is never inflated.
func (p *run) fetch(ctx context.Context, r *remote, etag string) (answer, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return answer{}, false, fmt.Errorf("request %s: %w", r.url, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("User-Agent", "wigo-transport-pull/"+version)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if r.login != "" {
		req.SetBasicAuth(r.login, r.password)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return answer{}, true, fmt.Errorf("GET %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && etag != "" {
		return answer{notModified: true, etag: etag}, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return answer{}, resp.StatusCode >= 500, fmt.Errorf("GET %s: %s", r.url, resp.Status)
	}
	a := answer{etag: resp.Header.Get("ETag")}
	switch enc := resp.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		a.gzipped = true
	default:
		return answer{}, false, fmt.Errorf("GET %s: answer encoded as %q, asked for gzip or nothing", r.url, enc)
	}
	tooLarge := fmt.Errorf("GET %s: answer larger than max_response_size (%d bytes)", r.url, p.maxResponse)
	if resp.ContentLength > p.maxResponse {
		return answer{}, false, tooLarge // known before reading a byte of it
	}
	// A gzipped answer is bounded here by the limit too: JSON shrinks
	// when compressed, so one over the limit gzipped is over it inflated.
	a.body, err = readLimited(resp.Body, resp.ContentLength, p.maxResponse)
	if errors.Is(err, errTooLarge) {
		return answer{}, false, tooLarge
	}
	if err != nil {
		return answer{}, true, fmt.Errorf("GET %s: read body: %w", r.url, err)
	}
	a.sum = maphash.Bytes(bodySeed, a.body)
	return a, false, nil
}

// gzipReaders recycles inflaters: a gzip.Reader holds tens of KB of
// tables, and a master inflates thousands of answers a second.
var gzipReaders sync.Pool

// gunzip inflates b, failing with errTooLarge past limit bytes.
func gunzip(b []byte, limit int64) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		return nil, err
	}
	defer gzipReaders.Put(zr)
	return readLimited(zr, -1, limit)
}

var errTooLarge = errors.New("too large")

// firstChunk and maxChunk bound the pieces readLimited reads an answer of
// unknown length in: small for the many small answers, doubling up to 4 MiB
// for a big one.
const (
	firstChunk = 8 << 10
	maxChunk   = 4 << 20
)

// readLimited reads r whole, or fails with errTooLarge once it holds more
// than limit bytes. A known length is read into one exact buffer. An
// unknown one (a streamed or gzipped answer, the usual case) is read in
// chunks joined at the end, not with io.ReadAll, whose growing buffer
// holds up to 2.25 times the answer while it copies: an answer over the
// limit costs about the limit, and is dropped as soon as it is known to be
// over.
func readLimited(r io.Reader, length, limit int64) ([]byte, error) {
	if length >= 0 {
		buf := make([]byte, length)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	var chunks [][]byte
	var total int64
	for size := firstChunk; ; size = min(size*2, maxChunk) {
		// Never more than one byte past the limit: that byte is enough
		// to know the answer is over it.
		c := make([]byte, min(int64(size), limit+1-total))
		n, err := io.ReadFull(r, c)
		total += int64(n)
		if total > limit {
			return nil, errTooLarge
		}
		if n > 0 {
			chunks = append(chunks, c[:n])
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// prepare checks that doc is a Wigo /api document (this project's or the
// original's: same shape), returns the UUID of its top host and trims its
// hierarchy to depth levels.
func prepare(doc []byte, depth int) (string, []byte, error) {
	uuid, err := topLevelUUID(doc)
	if err != nil {
		return "", nil, fmt.Errorf("not a Wigo /api document: %w", err)
	}
	if uuid == "" {
		return "", nil, errors.New("not a Wigo /api document: no Uuid")
	}
	if depth <= 0 {
		return uuid, doc, nil
	}
	doc, err = trim(doc, depth)
	return uuid, doc, err
}

// topLevelUUID reads the Uuid member of the JSON object doc, skipping the
// others without decoding them: at thousands of polls a second, decoding
// the whole document here (the core decodes it again) was an eighth of
// the plugin's CPU. The whole document is checked to be valid JSON.
func topLevelUUID(doc []byte) (string, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.ReadToken(); err != nil {
		return "", err
	} else if tok.Kind() != '{' {
		return "", fmt.Errorf("a JSON %s, not an object", tok.Kind())
	}
	var uuid string
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return "", err
		}
		if name.String() == "Uuid" && dec.PeekKind() == '"' {
			v, err := dec.ReadToken()
			if err != nil {
				return "", err
			}
			uuid = v.String()
			continue
		}
		if err := dec.SkipValue(); err != nil {
			return "", err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return "", err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return "", errors.New("data after the document")
	}
	return uuid, nil
}

// trim keeps depth levels of doc: 1 is the remote alone, 2 adds its direct
// remotes, and so on. Unknown keys pass through untouched.
func trim(doc []byte, depth int) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if depth <= 1 {
		m["RemoteWigos"] = json.RawMessage(`{}`)
		return json.Marshal(m)
	}
	var sub map[string]json.RawMessage
	if rw := m["RemoteWigos"]; len(rw) > 0 && string(rw) != "null" {
		if err := json.Unmarshal(rw, &sub); err != nil {
			return nil, fmt.Errorf("decode RemoteWigos: %w", err)
		}
	}
	for k, v := range sub {
		t, err := trim(v, depth-1)
		if err != nil {
			return nil, fmt.Errorf("RemoteWigos.%s: %w", k, err)
		}
		sub[k] = t
	}
	b, err := json.Marshal(sub)
	if err != nil {
		return nil, fmt.Errorf("encode RemoteWigos: %w", err)
	}
	m["RemoteWigos"] = b
	return json.Marshal(m)
}
