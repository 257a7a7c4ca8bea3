package main

import (
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Bounds on what a connection costs before its client is authenticated:
// anyone who can reach the push port gets this far. A hello is a few
// hundred bytes (UUID, hostname, signature, public key, proof), so
// maxHelloBytes is refused on the frame's length, before anything is read
// or allocated; the number of connections still in their TLS handshake or
// hello is capped in all and per source address, and each has
// handshake_timeout to finish both.
const (
	maxHelloBytes                       = 4 << 10
	defaultMaxUnauthenticated           = 256
	defaultMaxUnauthenticatedPerAddress = 16
	defaultHandshakeTimeout             = 10
	// defaultMaxWaitingPerAddress: clients behind one NAT share an
	// address, and a new site may register a few dozen at once.
	defaultMaxWaitingPerAddress = 50
	// limitLogEvery spaces the warnings about connections closed by the
	// limits: a flood is one line every so often, with a count.
	limitLogEvery = 10 * time.Second
)

// preauth counts the connections that have not completed their hello.
type preauth struct {
	log                 hclog.Logger
	maxTotal, maxPerKey int

	mu      sync.Mutex
	total   int
	byKey   map[string]int
	refused int       // closed by the limits since the last warning
	warned  time.Time // when the last warning was logged
}

func newPreauth(log hclog.Logger, maxTotal, maxPerKey int) *preauth {
	return &preauth{log: log, maxTotal: maxTotal, maxPerKey: maxPerKey, byKey: map[string]int{}}
}

// sourceKey is the source a limit applies to: the IP address of an IPv4
// peer, the /64 of an IPv6 one (one host usually holds a whole /64).
func sourceKey(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if ip4 := tcp.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return tcp.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// acquire takes a slot for a new connection from key; false when a limit is
// reached (the connection is to be closed at once). release gives it back;
// it may be called more than once.
func (p *preauth) acquire(key string) (release func(), ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total >= p.maxTotal || p.byKey[key] >= p.maxPerKey {
		p.refused++
		if now := time.Now(); now.Sub(p.warned) >= limitLogEvery {
			p.log.Warn("push connections closed before their handshake: too many unauthenticated connections",
				"closed", p.refused, "last_source", key, "unauthenticated", p.total, "from_source", p.byKey[key],
				"max_unauthenticated", p.maxTotal, "max_unauthenticated_per_address", p.maxPerKey)
			p.refused, p.warned = 0, now
		}
		return nil, false
	}
	p.total++
	p.byKey[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.total--
			if p.byKey[key]--; p.byKey[key] <= 0 {
				delete(p.byKey, key)
			}
		})
	}, true
}
