package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/sdk"
)

// Errors of the authority, each mapped to a refusal code and a log line by
// the server.
var (
	errBadSignature = errors.New("signature does not verify with this server's CA key")
	errNotAllowed   = errors.New("client is not allowed (revoked, or never approved)")
	// errSignatureHeld: an allowed client asked for its signature again.
	// Handing it out to whoever knows an allowed UUID would make the
	// signature worthless, so it is given once, when the client is
	// accepted; a client that lost it is revoked and allowed again.
	errSignatureHeld = errors.New("client is allowed and already received its signature: present it, or have it revoked and allowed again")
	// errOtherKey: a hello for a UUID known with another client key
	// (waiting or allowed): whoever learnt the UUID is not that client.
	errOtherKey = errors.New("this UUID is known with another client key")
	// errNeedKey: a client from before client keys asks for a signature,
	// which is only ever given bound to a key.
	errNeedKey = errors.New("this master signs only clients that present a key: upgrade the client")
	// errKeyBound: a signature over the UUID alone, from before client
	// keys, for a client whose key is bound since.
	errKeyBound = errors.New("this client's key is bound: its signature over the UUID alone is no longer accepted")
)

// registration is the outcome of a Hello without a signature.
type registration int

const (
	regWaiting registration = iota
	regAccepted
)

// allowedClient is one line of the allowed clients file.
type allowedClient struct {
	hostname string
	// pending: allowed, signature not yet delivered (persisted, so a
	// client approved while the server restarts still gets it).
	pending bool
	// key is the client's public key the signature is bound to; nil for a
	// client approved before client keys, until it presents one.
	key ed25519.PublicKey
	// relay: the client may report hosts under it (its RemoteWigos), not
	// only its own. Granted by the operator like the approval itself
	// (README, Relays); a client approved without it has what it carries
	// under RemoteWigos dropped before the core.
	relay bool
	// unrelayed counts the hosts it carried in its latest session that
	// were dropped because it is not a relay (in memory only), so that the
	// allowed list says why they are missing.
	unrelayed int
}

type waitingClient struct {
	hostname string
	// remote is the address it last connected from; source the key of
	// the per-address quota (sourceKey) for the address it first came from.
	remote, source string
	since          time.Time // first seen
	// seq orders entries by arrival (since may repeat).
	seq uint64
	// key is the client key it registered with; only that key can
	// collect the signature once it is allowed.
	key ed25519.PublicKey
}

// claim is what a Hello without signature asks: uuid, named hostname,
// from the peer remote (source is its sourceKey), holding key (proven on
// the connection; nil for a client from before keys).
type claim struct {
	uuid, hostname string
	remote, source string
	key            ed25519.PublicKey
}

// authority decides which push clients may push. Every field behind mu:
// the original crashed with a concurrent map iteration and write when all
// clients reconnected at once; here every access holds mu and the list
// handed out is a copy.
type authority struct {
	log        hclog.Logger
	signer     crypto.Signer
	pub        crypto.PublicKey
	file       string
	autoAccept bool
	maxWaiting int
	// maxPerSource bounds the waiting clients from one source address, so
	// that a flood from a few addresses cannot push out the others.
	maxPerSource int
	clock        clock
	// onRevoke is called (outside mu) after a revocation, to end the
	// client's live session.
	onRevoke func(uuid string)
	// onWaiting is called (outside mu) once per client that joins the
	// waiting list, to raise the core's client_waiting event. It must not
	// block registration.
	onWaiting func(uuid, hostname, remote string)
	// onRelay is called (outside mu) after a client's relay grant changed,
	// to restart its live session under the new rule.
	onRelay func(uuid string)

	mu      sync.Mutex
	allowed map[string]*allowedClient
	waiting map[string]waitingClient
	// bySource counts the waiting clients per source.
	bySource map[string]int
	// arrivals numbers waiting entries (waitingClient.seq).
	arrivals uint64
	// version counts changes of allowed (under mu).
	version uint64

	// persistMu serializes writes of the file; written is the version the
	// file holds (under persistMu).
	persistMu sync.Mutex
	written   uint64
}

func newAuthority(log hclog.Logger, signer crypto.Signer, file string, autoAccept bool, maxWaiting int) (*authority, error) {
	a := &authority{
		log: log, signer: signer, pub: signer.Public(), file: file,
		autoAccept: autoAccept, maxWaiting: maxWaiting, maxPerSource: maxWaiting, clock: realClock{},
		allowed: map[string]*allowedClient{}, waiting: map[string]waitingClient{}, bySource: map[string]int{},
	}
	if err := a.load(); err != nil {
		return nil, err
	}
	return a, nil
}

// load reads the allowed clients file: one client a line, "UUID hostname",
// then " pending" while its signature has not been delivered,
// " key=BASE64" once a client key is bound and " relay" when it may report
// the hosts under it; # comments. A missing file is an empty list.
func (a *authority) load() error {
	b, err := os.ReadFile(a.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read allowed clients: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if !uuidRe.MatchString(f[0]) {
			return fmt.Errorf("%s:%d: invalid UUID %q", a.file, n, trunc(f[0]))
		}
		c := &allowedClient{}
		if len(f) > 1 {
			c.hostname = f[1]
		}
		for _, tok := range f[min(2, len(f)):] {
			switch {
			case tok == "pending":
				c.pending = true
			case tok == "relay":
				c.relay = true
			case strings.HasPrefix(tok, "key="):
				k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(tok, "key="))
				if err != nil || len(k) != ed25519.PublicKeySize {
					return fmt.Errorf("%s:%d: %s: invalid client key %q: want key= and a base64 ed25519 public key", a.file, n, f[0], trunc(tok))
				}
				c.key = k
			default:
				return fmt.Errorf("%s:%d: %s: unknown field %q: want pending, relay or key=", a.file, n, f[0], trunc(tok))
			}
		}
		a.allowed[f[0]] = c
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read allowed clients: %w", err)
	}
	return nil
}

// fileLocked renders the allowed list; mu is held.
func (a *authority) fileLocked() []byte {
	ids := make([]string, 0, len(a.allowed))
	for id := range a.allowed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var buf bytes.Buffer
	buf.WriteString("# Wigo push clients allowed by this server: UUID hostname [pending] [key=BASE64] [relay]. Written by transport-push.\n")
	for _, id := range ids {
		c := a.allowed[id]
		host := c.hostname
		if host == "" || strings.ContainsAny(host, " \t\n") {
			host = "-"
		}
		buf.WriteString(id + " " + host)
		if c.pending {
			buf.WriteString(" pending")
		}
		if c.key != nil {
			buf.WriteString(" key=" + base64.StdEncoding.EncodeToString(c.key))
		}
		if c.relay {
			buf.WriteString(" relay")
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// commit returns once the file holds change number v (or a later one).
// Writes go through a temporary file and a rename, so a crash leaves the
// old or the new list. Concurrent changes share writes (group commit): when
// a thousand new clients are auto-accepted at once, one write carries many
// of them instead of a thousand writes of a growing file.
func (a *authority) commit(v uint64) error {
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	if a.written >= v {
		return nil
	}
	a.mu.Lock()
	data, cur := a.fileLocked(), a.version
	a.mu.Unlock()
	if err := writeFileAtomic(a.file, data, 0o600); err != nil {
		return fmt.Errorf("persist allowed clients: %w", err)
	}
	a.written = cur
	return nil
}

// change applies do under mu and makes it durable before returning; when
// the file cannot be written, undo reverts it (under mu) and the error is
// returned: an allow or revoke the file does not hold is not in effect.
func (a *authority) change(do, undo func()) error {
	a.mu.Lock()
	do()
	a.version++
	v := a.version
	a.mu.Unlock()
	err := a.commit(v)
	if err == nil {
		return nil
	}
	a.mu.Lock()
	undo()
	a.version++
	v = a.version
	a.mu.Unlock()
	// A concurrent write may have carried the change: write the reverted
	// list if the file can be written again.
	_ = a.commit(v)
	return err
}

// register handles a Hello without signature, from a client that proved
// it holds cl.key. An allowed client receives its signature when it was
// approved with that key (the first delivery, or again after losing its
// uuid_sig: the signature is bound to the key, so handing it out again
// gives nothing to anyone else); with auto_accept an unknown client is
// allowed at once; otherwise it waits. A client without a key gets no
// signature.
func (a *authority) register(cl claim) (registration, []byte, error) {
	uuid, hostname := cl.uuid, cl.hostname
	a.mu.Lock()
	c, ok := a.allowed[uuid]
	w, waiting := a.waiting[uuid]
	switch {
	case ok && (cl.key == nil || c.key == nil && !c.pending):
		// A client from before keys asking again, or asking for a
		// signature approved before keys: once only, as before.
		a.mu.Unlock()
		return 0, nil, errSignatureHeld
	case ok && c.key == nil:
		// Approved (pending) before client keys: its key was never shown
		// to the operator, so the first to ask must not bind it.
		a.mu.Unlock()
		return 0, nil, fmt.Errorf("%w: it was approved before client keys; revoke and allow it again", errOtherKey)
	case ok && !c.key.Equal(cl.key):
		a.mu.Unlock()
		return 0, nil, fmt.Errorf("%w (allowed with %s, this hello has %s)", errOtherKey, keyFingerprint(c.key), keyFingerprint(cl.key))
	case !ok && cl.key == nil:
		a.mu.Unlock()
		return 0, nil, errNeedKey
	case !ok && waiting && !w.key.Equal(cl.key):
		// The first key keeps the UUID: the operator approves what the
		// waiting list showed.
		a.mu.Unlock()
		return 0, nil, fmt.Errorf("%w (waiting with %s, this hello has %s)", errOtherKey, keyFingerprint(w.key), keyFingerprint(cl.key))
	case !ok && !a.autoAccept:
		a.addWaitingLocked(cl)
		a.mu.Unlock()
		if !waiting && a.onWaiting != nil {
			a.onWaiting(uuid, hostname, cl.remote)
		}
		return regWaiting, nil, nil
	}
	a.mu.Unlock()
	sig, err := signClient(a.signer, uuid, cl.key)
	if err != nil {
		return 0, nil, err
	}
	var old *allowedClient
	var had bool
	mine := &allowedClient{hostname: hostname, key: cl.key}
	err = a.change(func() {
		old, had = a.allowed[uuid]
		if had {
			// A signature asked for again keeps what the operator granted.
			mine.relay = old.relay
		}
		a.allowed[uuid] = mine
		a.dropWaitingLocked(uuid)
	}, func() {
		if a.allowed[uuid] != mine {
			return // changed again meanwhile
		}
		if had {
			a.allowed[uuid] = old
		} else {
			delete(a.allowed, uuid)
		}
	})
	if err != nil {
		return 0, nil, err
	}
	if !had {
		a.log.Info("push client accepted automatically", "uuid", uuid, "hostname", hostname, "key", keyFingerprint(cl.key))
	}
	return regAccepted, sig, nil
}

// addWaitingLocked puts the client on the waiting list. The list is
// bounded so that a flood of made-up UUIDs costs a fixed amount of memory,
// and bounded per source address so that the flood cannot push out the
// clients of other addresses: a source at its quota loses its own oldest
// entry to a new UUID, and when the whole list is full the oldest entry of
// the source holding the most entries is dropped.
func (a *authority) addWaitingLocked(cl claim) {
	if w, ok := a.waiting[cl.uuid]; ok {
		w.hostname, w.remote = cl.hostname, cl.remote
		a.waiting[cl.uuid] = w
		return
	}
	switch {
	case a.bySource[cl.source] >= a.maxPerSource:
		a.dropOldestLocked(cl.source, "max_waiting_per_address", a.maxPerSource)
	case len(a.waiting) >= a.maxWaiting:
		var fullest string
		for src, n := range a.bySource {
			if n > a.bySource[fullest] || (n == a.bySource[fullest] && src < fullest) {
				fullest = src
			}
		}
		a.dropOldestLocked(fullest, "max_waiting_clients", a.maxWaiting)
	}
	a.arrivals++
	a.waiting[cl.uuid] = waitingClient{hostname: cl.hostname, remote: cl.remote, source: cl.source, since: a.clock.Now(), seq: a.arrivals, key: cl.key}
	a.bySource[cl.source]++
}

// dropOldestLocked drops the oldest waiting client from source, because
// the limit named was reached. Logged at debug level: during a flood it
// would be one line per hello.
func (a *authority) dropOldestLocked(source, limit string, max int) {
	var oldest string
	var first uint64
	for id, w := range a.waiting {
		if w.source == source && (oldest == "" || w.seq < first) {
			oldest, first = id, w.seq
		}
	}
	a.dropWaitingLocked(oldest)
	a.log.Debug("waiting list: oldest client of an address dropped", "dropped", oldest, "source", source, limit, max)
}

// dropWaitingLocked removes uuid from the waiting list, if there.
func (a *authority) dropWaitingLocked(uuid string) {
	w, ok := a.waiting[uuid]
	if !ok {
		return
	}
	delete(a.waiting, uuid)
	if a.bySource[w.source]--; a.bySource[w.source] <= 0 {
		delete(a.bySource, w.source)
	}
}

// restoreWaitingLocked puts w back on the waiting list (an allow undone).
func (a *authority) restoreWaitingLocked(uuid string, w waitingClient) {
	if _, ok := a.waiting[uuid]; ok {
		return
	}
	a.waiting[uuid] = w
	a.bySource[w.source]++
}

// check verifies a client's signature and that it is still allowed. key
// is the client key proven on the connection (nil from a client from
// before keys). A signature over the UUID alone (before client keys) is
// accepted while the client's key is not bound; presented with a key, it
// binds that key and a new signature is returned, for the client to store
// (README, Migration).
func (a *authority) check(uuid string, sig []byte, key ed25519.PublicKey) (newSig []byte, err error) {
	bound := key != nil && verifyClient(a.pub, uuid, key, sig)
	if !bound && !verifyUUID(a.pub, uuid, sig) {
		return nil, errBadSignature
	}
	a.mu.Lock()
	c, ok := a.allowed[uuid]
	var pending bool
	var had ed25519.PublicKey
	if ok {
		pending, had = c.pending, c.key
	}
	a.mu.Unlock()
	switch {
	case !ok:
		return nil, errNotAllowed
	case bound && had != nil && !had.Equal(key):
		// Signed for a key of an earlier approval: revoked and allowed
		// again with another key since.
		return nil, fmt.Errorf("%w (allowed with %s, this hello has %s)", errOtherKey, keyFingerprint(had), keyFingerprint(key))
	case !bound && had != nil:
		return nil, errKeyBound
	}
	if !bound && key != nil {
		if newSig, err = signClient(a.signer, uuid, key); err != nil {
			return nil, err
		}
	}
	if pending || (key != nil && had == nil) {
		// The client holds a signature (from an earlier approval): no
		// need to deliver it again; its key, when new, is bound.
		err := a.change(func() { c.pending, c.key = false, key }, func() { c.key = had })
		if err != nil && newSig != nil {
			return nil, fmt.Errorf("bind client key: %w", err)
		}
		if err != nil {
			a.log.Warn("could not record signature delivery", "uuid", uuid, "error", err)
		}
		if newSig != nil {
			a.log.Info("push client key bound to its signature from before client keys", "uuid", uuid, "key", keyFingerprint(key))
		}
	}
	return newSig, nil
}

// relays reports whether uuid is allowed to report the hosts under it.
func (a *authority) relays(uuid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.allowed[uuid]
	return ok && c.relay
}

// noteUnrelayed records that the session of uuid carried n hosts it may
// not relay.
func (a *authority) noteUnrelayed(uuid string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.allowed[uuid]; ok {
		c.unrelayed = n
	}
}

// setRelay grants or withdraws relay for the allowed client uuid, durably.
// It reports whether the grant changed.
func (a *authority) setRelay(uuid string, relay bool) (changed bool, err error) {
	a.mu.Lock()
	c, ok := a.allowed[uuid]
	a.mu.Unlock()
	if !ok {
		return false, fmt.Errorf("%w: %s is not allowed (approve it first)", sdk.ErrUnknownClient, uuid)
	}
	err = a.change(func() {
		changed = c.relay != relay
		c.relay = relay
		if relay {
			c.unrelayed = 0
		}
	}, func() { c.relay = !relay })
	if err != nil {
		return false, err
	}
	if changed {
		a.log.Info("push client relay changed", "uuid", uuid, "hostname", c.hostname, "relay", relay)
	}
	return changed, nil
}

// clients describes the waiting and allowed clients, sorted by UUID.
func (a *authority) clients() (waiting, allowed []sdk.AuthorityClient) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, w := range a.waiting {
		waiting = append(waiting, sdk.AuthorityClient{UUID: id, Hostname: w.hostname, Remote: w.remote, FirstSeen: w.since, KeyFingerprint: fingerprintOrEmpty(w.key)})
	}
	for id, c := range a.allowed {
		allowed = append(allowed, sdk.AuthorityClient{UUID: id, Hostname: c.hostname, KeyFingerprint: fingerprintOrEmpty(c.key),
			Relay: c.relay, Pending: c.pending, UnrelayedHosts: c.unrelayed})
	}
	byUUID := func(l []sdk.AuthorityClient) func(i, j int) bool {
		return func(i, j int) bool { return l[i].UUID < l[j].UUID }
	}
	sort.Slice(waiting, byUUID(waiting))
	sort.Slice(allowed, byUUID(allowed))
	return waiting, allowed
}

// fingerprintOrEmpty is keyFingerprint, empty for no key.
func fingerprintOrEmpty(k ed25519.PublicKey) string {
	if k == nil {
		return ""
	}
	return keyFingerprint(k)
}

// list returns copies of the waiting and allowed lists, UUID to hostname.
func (a *authority) list() (waiting, allowed map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	waiting = make(map[string]string, len(a.waiting))
	for id, w := range a.waiting {
		waiting[id] = w.hostname
	}
	allowed = make(map[string]string, len(a.allowed))
	for id, c := range a.allowed {
		allowed[id] = c.hostname
	}
	return waiting, allowed
}

// allow approves a waiting client; it receives its signature the next time
// it connects. Allowing an allowed client is a no-op.
func (a *authority) allow(uuid string) error {
	a.mu.Lock()
	_, allowed := a.allowed[uuid]
	w, waiting := a.waiting[uuid]
	a.mu.Unlock()
	if allowed {
		return nil
	}
	if !waiting {
		return fmt.Errorf("%w: %s is not waiting for approval", sdk.ErrUnknownClient, uuid)
	}
	mine := &allowedClient{hostname: w.hostname, pending: true, key: w.key}
	err := a.change(func() {
		a.allowed[uuid] = mine
		a.dropWaitingLocked(uuid)
	}, func() {
		if a.allowed[uuid] == mine {
			delete(a.allowed, uuid)
			a.restoreWaitingLocked(uuid, w)
		}
	})
	if err != nil {
		return err
	}
	a.log.Info("push client allowed", "uuid", uuid, "hostname", w.hostname, "key", keyFingerprint(w.key), "remote", w.remote)
	return nil
}

// revoke removes a client from the allowed (or waiting) list and ends its
// session; its signature is refused from then on.
func (a *authority) revoke(uuid string) error {
	a.mu.Lock()
	c, allowed := a.allowed[uuid]
	_, waiting := a.waiting[uuid]
	if !allowed {
		a.dropWaitingLocked(uuid)
	}
	a.mu.Unlock()
	if !allowed && !waiting {
		return fmt.Errorf("%w: %s", sdk.ErrUnknownClient, uuid)
	}
	if allowed {
		err := a.change(func() {
			delete(a.allowed, uuid)
			a.dropWaitingLocked(uuid)
		}, func() {
			if _, again := a.allowed[uuid]; !again {
				a.allowed[uuid] = c
			}
		})
		if err != nil {
			return err
		}
	}
	a.log.Info("push client revoked", "uuid", uuid)
	if a.onRevoke != nil {
		a.onRevoke(uuid)
	}
	return nil
}

// AuthorityList implements sdk.AuthorityProvider.
func (t *transport) AuthorityList(context.Context) (waiting, allowed map[string]string, err error) {
	a := t.auth()
	if a == nil {
		return nil, nil, sdk.ErrNoAuthority
	}
	w, al := a.list()
	return w, al, nil
}

// AuthorityAllow implements sdk.AuthorityProvider.
func (t *transport) AuthorityAllow(_ context.Context, uuid string) error {
	a := t.auth()
	if a == nil {
		return sdk.ErrNoAuthority
	}
	return a.allow(uuid)
}

// AuthorityRevoke implements sdk.AuthorityProvider.
func (t *transport) AuthorityRevoke(_ context.Context, uuid string) error {
	a := t.auth()
	if a == nil {
		return sdk.ErrNoAuthority
	}
	return a.revoke(uuid)
}

// AuthorityClients implements sdk.AuthorityDetailer.
func (t *transport) AuthorityClients(context.Context) (waiting, allowed []sdk.AuthorityClient, err error) {
	a := t.auth()
	if a == nil {
		return nil, nil, sdk.ErrNoAuthority
	}
	waiting, allowed = a.clients()
	return waiting, allowed, nil
}

// AuthorityRelay implements sdk.RelayGranter. A changed grant ends the
// client's live session: it reconnects at once and its next snapshot is
// taken under the new rule.
func (t *transport) AuthorityRelay(_ context.Context, uuid string, relay bool) error {
	a := t.auth()
	if a == nil {
		return sdk.ErrNoAuthority
	}
	changed, err := a.setRelay(uuid, relay)
	if changed && a.onRelay != nil {
		a.onRelay(uuid)
	}
	return err
}
