package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
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
}

type waitingClient struct {
	hostname string
	since    time.Time
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
	// onRevoke is called (outside mu) after a revocation, to end the
	// client's live session.
	onRevoke func(uuid string)
	// onWaiting is called (outside mu) once per client that joins the
	// waiting list, to raise the core's client_waiting event. It must not
	// block registration.
	onWaiting func(uuid, hostname string)

	mu      sync.Mutex
	allowed map[string]*allowedClient
	waiting map[string]waitingClient
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
		autoAccept: autoAccept, maxWaiting: maxWaiting,
		allowed: map[string]*allowedClient{}, waiting: map[string]waitingClient{},
	}
	if err := a.load(); err != nil {
		return nil, err
	}
	return a, nil
}

// load reads the allowed clients file: one client a line, "UUID hostname",
// with " pending" while its signature has not been delivered; # comments.
// A missing file is an empty list.
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
		c.pending = len(f) > 2 && f[2] == "pending"
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
	buf.WriteString("# Wigo push clients allowed by this server: UUID hostname [pending]. Written by transport-push.\n")
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

// register handles a Hello without signature: an allowed client whose
// signature is pending receives it; with auto_accept an unknown client is
// allowed at once; otherwise it waits.
func (a *authority) register(uuid, hostname string) (registration, []byte, error) {
	a.mu.Lock()
	c, ok := a.allowed[uuid]
	switch {
	case ok && !c.pending:
		a.mu.Unlock()
		return 0, nil, errSignatureHeld
	case !ok && !a.autoAccept:
		_, already := a.waiting[uuid]
		a.addWaitingLocked(uuid, hostname)
		a.mu.Unlock()
		if !already {
			a.log.Info("new push client waiting for approval", "uuid", uuid, "hostname", hostname)
			if a.onWaiting != nil {
				a.onWaiting(uuid, hostname)
			}
		}
		return regWaiting, nil, nil
	}
	a.mu.Unlock()
	sig, err := signUUID(a.signer, uuid)
	if err != nil {
		return 0, nil, err
	}
	var old *allowedClient
	var had bool
	mine := &allowedClient{hostname: hostname}
	err = a.change(func() {
		old, had = a.allowed[uuid]
		a.allowed[uuid] = mine
		delete(a.waiting, uuid)
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
		a.log.Info("push client accepted automatically", "uuid", uuid, "hostname", hostname)
	}
	return regAccepted, sig, nil
}

// addWaitingLocked puts uuid on the waiting list, dropping the oldest
// entry when full: the list is bounded so that a flood of made-up UUIDs
// costs a fixed amount of memory.
func (a *authority) addWaitingLocked(uuid, hostname string) {
	if w, ok := a.waiting[uuid]; ok {
		w.hostname = hostname
		a.waiting[uuid] = w
		return
	}
	if len(a.waiting) >= a.maxWaiting {
		var oldest string
		var t time.Time
		for id, w := range a.waiting {
			if oldest == "" || w.since.Before(t) {
				oldest, t = id, w.since
			}
		}
		delete(a.waiting, oldest)
		a.log.Warn("waiting list full, oldest client dropped", "dropped", oldest, "max_waiting_clients", a.maxWaiting)
	}
	a.waiting[uuid] = waitingClient{hostname: hostname, since: time.Now()}
}

// check verifies a client's signature and that it is still allowed.
func (a *authority) check(uuid string, sig []byte) error {
	if !verifyUUID(a.pub, uuid, sig) {
		return errBadSignature
	}
	a.mu.Lock()
	c, ok := a.allowed[uuid]
	pending := ok && c.pending
	a.mu.Unlock()
	if !ok {
		return errNotAllowed
	}
	if pending {
		// The client holds a signature (from an earlier approval): no
		// need to deliver it again.
		if err := a.change(func() { c.pending = false }, func() {}); err != nil {
			a.log.Warn("could not record signature delivery", "uuid", uuid, "error", err)
		}
	}
	return nil
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
	mine := &allowedClient{hostname: w.hostname, pending: true}
	err := a.change(func() {
		a.allowed[uuid] = mine
		delete(a.waiting, uuid)
	}, func() {
		if a.allowed[uuid] == mine {
			delete(a.allowed, uuid)
			a.waiting[uuid] = w
		}
	})
	if err != nil {
		return err
	}
	a.log.Info("push client allowed", "uuid", uuid, "hostname", w.hostname)
	return nil
}

// revoke removes a client from the allowed (or waiting) list and ends its
// session; its signature is refused from then on.
func (a *authority) revoke(uuid string) error {
	a.mu.Lock()
	c, allowed := a.allowed[uuid]
	_, waiting := a.waiting[uuid]
	if !allowed {
		delete(a.waiting, uuid)
	}
	a.mu.Unlock()
	if !allowed && !waiting {
		return fmt.Errorf("%w: %s", sdk.ErrUnknownClient, uuid)
	}
	if allowed {
		err := a.change(func() {
			delete(a.allowed, uuid)
			delete(a.waiting, uuid)
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
