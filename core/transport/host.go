// Package transport is the core's side of the transport plugins (pull,
// push): the sdk.Host the plugin manager serves to each of them through
// go-plugin's broker. Plugins hand it host documents received from the
// network, read the local state and follow its changes.
//
// Everything a plugin passes in came from the network, so it is untrusted:
// sizes are bounded, decode errors are returned with context (never a
// panic), and the state validates the decoded document part by part.
package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
	"github.com/wigo-project/wigo/sdk"
)

// DefaultMaxDocument bounds one ingested document. The original's /api at
// 1,000 hosts is 6.7 MB, so 64 MiB leaves room for ten times that.
const DefaultMaxDocument = 64 << 20

// DroppedKind is the Kind of the message Subscribe sends when its lossy
// subscription lost events: the subscriber should resynchronise from
// LocalState.
const DroppedKind = "events_dropped"

// maxSources bounds the per-source memory of what was last logged; sources
// are remote addresses or push-client UUIDs, so a forged stream of new ones
// must not grow it without limit.
const maxSources = 100_000

// Options configure a Host.
type Options struct {
	// State receives ingested documents and answers LocalState. Required.
	State *state.State
	// Logger receives one line per source when what it sends gets skipped
	// in part, and again when that changes.
	Logger hclog.Logger
	// MaxDocument bounds one document in bytes (DefaultMaxDocument).
	MaxDocument int
	// SubscribeBuffer is the number of events a subscriber may lag behind
	// before events are dropped (1024).
	SubscribeBuffer int
}

// Host implements sdk.Host over a state.State. It is safe for concurrent
// use: one plugin may ingest from many goroutines, and several plugins
// share one Host.
type Host struct {
	opts Options
	log  hclog.Logger

	mu sync.Mutex
	// lastErr is what was last logged per source, so a remote that keeps
	// sending the same bad part is logged once, not on every poll.
	lastErr map[string]string

	documents, patches, unchanged atomic.Uint64
	// stateLen is the last LocalState's size, the next one's first guess.
	stateLen atomic.Int64

	// control carries out probe control asked through a transport
	// (SetControl).
	control atomic.Pointer[ControlFunc]
}

// Stats count what the transports handed in since start, by the work it
// cost the core. An operator (and a test) reads in them whether unchanged
// polls stay cheap: a pull master whose remotes' documents did not change
// should count unchanged updates, not documents.
type Stats struct {
	// Documents were decoded whole (Ingest, or a batch entry with a
	// document).
	Documents uint64
	// Patches set or removed some probes of a host: only those were
	// decoded.
	Patches uint64
	// Unchanged updates said a host answered with nothing new (a patch
	// with no probe): nothing was decoded, the host and what it carries
	// were heard of.
	Unchanged uint64
}

// Stats returns the counters.
func (h *Host) Stats() Stats {
	return Stats{Documents: h.documents.Load(), Patches: h.patches.Load(), Unchanged: h.unchanged.Load()}
}

var (
	_ sdk.Host      = (*Host)(nil)
	_ sdk.EventHost = (*Host)(nil)
	_ sdk.BatchHost = (*Host)(nil)
)

// New returns a Host for opts.State.
func New(opts Options) *Host {
	if opts.MaxDocument <= 0 {
		opts.MaxDocument = DefaultMaxDocument
	}
	if opts.SubscribeBuffer <= 0 {
		opts.SubscribeBuffer = 1024
	}
	log := opts.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Host{opts: opts, log: log, lastErr: map[string]string{}}
}

// Ingest decodes document (the GET /api shape, this project's or an
// original Wigo's) and merges it into the state. A document that does not
// decode is refused whole; one with invalid parts is ingested without them
// and the returned error describes what was skipped.
func (h *Host) Ingest(_ context.Context, source string, document []byte) (err error) {
	defer func() {
		// The state validates untrusted input, but a bug there must cost
		// one document, never the daemon.
		if r := recover(); r != nil {
			err = fmt.Errorf("ingest from %s: internal error: %v", source, r)
			h.log.Error("ingest panicked", "source", source, "panic", r)
		}
	}()
	h.documents.Add(1)
	doc, err := Decode(document, h.opts.MaxDocument)
	if err != nil {
		err = fmt.Errorf("ingest from %s: %w", source, err)
		h.note(source, err)
		return err
	}
	if err := h.opts.State.Ingest(source, doc); err != nil {
		err = fmt.Errorf("ingest from %s: %w", source, err)
		h.note(source, err)
		return err
	}
	h.note(source, nil)
	return nil
}

// IngestBatch applies updates in order: whole documents as Ingest, probe
// patches through the state's Patch, which decodes only the probes sent.
func (h *Host) IngestBatch(ctx context.Context, updates []sdk.Update) ([]error, error) {
	errs := make([]error, len(updates))
	for i, u := range updates {
		if len(u.Document) > 0 {
			errs[i] = h.Ingest(ctx, u.Source, u.Document)
			continue
		}
		errs[i] = h.patch(u)
	}
	return errs, nil
}

// patch applies one probe patch. Probes that do not decode are skipped and
// reported, as the invalid parts of a document are. A patch of nothing is
// the "answered, unchanged" hand-off: it only marks the host, and what its
// last document carried, as heard of now.
func (h *Host) patch(u sdk.Update) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("patch from %s: internal error: %v", u.Source, r)
			h.log.Error("patch panicked", "source", u.Source, "panic", r)
		}
	}()
	if len(u.Probes) == 0 && len(u.Removed) == 0 {
		h.unchanged.Add(1)
	} else {
		h.patches.Add(1)
	}
	var size int
	for _, p := range u.Probes {
		size += len(p.JSON)
	}
	if size > h.opts.MaxDocument {
		err = fmt.Errorf("patch from %s: %d bytes of probes exceed the %d-byte limit", u.Source, size, h.opts.MaxDocument)
		h.note(u.Source, err)
		return err
	}
	set := make([]*model.ProbeResult, 0, len(u.Probes))
	var errs []error
	for _, pj := range u.Probes {
		var p model.ProbeResult
		if err := jsonv2.Unmarshal(pj.JSON, &p, decoding); err != nil {
			errs = append(errs, fmt.Errorf("probe %q: %w", truncName(pj.Name), err))
			continue
		}
		// As in a document: the result's own name, else its key.
		if p.Name == "" {
			p.Name = pj.Name
		}
		set = append(set, &p)
	}
	if err := h.opts.State.Patch(u.Source, u.HostUUID, set, u.Removed); err != nil {
		if errors.Is(err, state.ErrUnknownHost) {
			return sdk.ErrNeedDocument
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("patch from %s: %w", u.Source, err)
		h.note(u.Source, err)
		return err
	}
	h.note(u.Source, nil)
	return nil
}

// decoding reads documents and patched probe results with the JSON v2
// decoder (github.com/go-json-experiment/json, what encoding/json/v2 grew
// from): on a master taking 2,000 updates a second, decoding them with
// encoding/json was the core's largest cost; v2 takes about half the time
// and allocations, and validates as it reads. Names match
// case-insensitively as encoding/json does (documents of the original were
// read that way); unlike it, invalid UTF-8 and duplicate names are
// refused, with their location.
var decoding = jsonv2.MatchCaseInsensitiveNames(true)

// Decode parses one host document of at most max bytes.
func Decode(document []byte, max int) (*model.Wigo, error) {
	if len(document) == 0 {
		return nil, errors.New("empty document")
	}
	if max > 0 && len(document) > max {
		return nil, fmt.Errorf("document of %d bytes exceeds the %d-byte limit", len(document), max)
	}
	var doc model.Wigo
	if err := jsonv2.Unmarshal(document, &doc, decoding); err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	return &doc, nil
}

// note logs err for source when it differs from what was last logged for
// it, and says so once when the source is clean again.
func (h *Host) note(source string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	h.mu.Lock()
	last, known := h.lastErr[source]
	if last == msg && (known || msg == "") {
		h.mu.Unlock()
		return
	}
	if len(h.lastErr) >= maxSources {
		clear(h.lastErr)
	}
	h.lastErr[source] = msg
	h.mu.Unlock()
	switch {
	case msg != "":
		h.log.Warn("document from source partly or wholly refused", "source", source, "error", msg)
	case known:
		h.log.Info("documents from source are clean again", "source", source)
	}
}

// LocalState returns the whole state as the GET /api document, by the
// same encoder (without GET /api's trailing newline), in a buffer sized
// from the last one.
func (h *Host) LocalState(context.Context) ([]byte, error) {
	last := int(h.stateLen.Load())
	b := model.AppendDocument(make([]byte, 0, last+last/8+4096), h.opts.State.Document())
	h.stateLen.Store(int64(len(b)))
	return b, nil
}

// Subscribe streams every change of the state (event.Event as JSON) until
// ctx ends, then closes the channel. The subscription is lossy so a slow
// plugin never holds back the core: when events were dropped, a
// {"Kind":"events_dropped","Dropped":n} message comes before the next
// event, and the subscriber should read LocalState again.
func (h *Host) Subscribe(ctx context.Context) (<-chan []byte, error) {
	sub := h.opts.State.Bus().Subscribe(event.SubscribeOptions{Buffer: h.opts.SubscribeBuffer})
	out := make(chan []byte, 16)
	go func() {
		defer close(out)
		defer sub.Close()
		var reported uint64
		send := func(b []byte) bool {
			select {
			case out <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-sub.C:
				if !ok {
					return
				}
				if d := sub.Dropped(); d > reported {
					msg := fmt.Appendf(nil, `{"Kind":%q,"Dropped":%d}`, DroppedKind, d-reported)
					reported = d
					if !send(msg) {
						return
					}
				}
				b, err := json.Marshal(e)
				if err != nil {
					h.log.Error("encode change", "kind", e.Kind, "host", e.Host, "error", err)
					continue
				}
				if !send(b) {
					return
				}
			}
		}
	}()
	return out, nil
}

// maxEventName bounds the host name and UUID of an event raised by a plugin;
// maxEventMessage bounds its message.
const (
	maxEventName    = 255
	maxEventMessage = 1024
)

// Event raises a core event on behalf of a transport plugin. Two kinds are
// accepted:
//   - sdk.EventClientWaiting publishes an event.ClientWaiting (WARNING,
//     remote) about the push client hostUUID/host on the state's bus, where
//     the log store records it and the notification pipeline routes it;
//   - sdk.EventRemoteUnanswered shows the polled remote at address host
//     DOWN as never answered (state.State.Unanswered).
//
// The values came from the network: names must be non-empty and hold at
// most 255 characters, none of them control characters; a message that is
// not so is replaced.
func (h *Host) Event(_ context.Context, kind, hostUUID, host, message string) error {
	if kind == sdk.EventRemoteUnanswered {
		if err := validEventName("remote address", host); err != nil {
			return err
		}
		if message == "" || len(message) > maxEventMessage || strings.ContainsFunc(message, unicode.IsControl) {
			message = "no answer"
		}
		h.opts.State.Unanswered(host, message)
		return nil
	}
	if kind != sdk.EventClientWaiting {
		return fmt.Errorf("event: unknown kind %q", kind)
	}
	if err := validEventName("host uuid", hostUUID); err != nil {
		return err
	}
	if err := validEventName("host", host); err != nil {
		return err
	}
	if message == "" || len(message) > maxEventMessage || strings.ContainsFunc(message, unicode.IsControl) {
		message = fmt.Sprintf("New push client %s (%s) is waiting for approval", host, hostUUID)
	}
	h.opts.State.Bus().Publish(event.Event{
		Kind:      event.ClientWaiting,
		HostUUID:  hostUUID,
		Host:      host,
		Message:   message,
		Remote:    true,
		NewStatus: model.StatusWarn,
	})
	return nil
}

// truncName bounds a name from the network quoted in an error.
func truncName(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func validEventName(what, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("event: empty %s", what)
	case len(v) > maxEventName:
		return fmt.Errorf("event: %s of %d bytes exceeds %d", what, len(v), maxEventName)
	case strings.ContainsFunc(v, unicode.IsControl):
		return fmt.Errorf("event: %s %q holds control characters", what, v)
	}
	return nil
}
