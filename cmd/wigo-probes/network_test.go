package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/ok":
			fmt.Fprint(w, "fine")
		case "/moved":
			http.Redirect(w, req, "/ok", http.StatusMovedPermanently)
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	tls := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {}))
	// The probe refusing its certificate is the point; keep the log quiet.
	tls.Config.ErrorLog = log.New(io.Discard, "", 0)
	tls.StartTLS()
	defer tls.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	deadURL := closed.URL
	closed.Close()

	conf := fmt.Sprintf(`{"urls": {"home": "%[1]s/ok", "old": "%[1]s/moved",
		"tea": {"url": "%[1]s/teapot", "expectedCode": [200, 418]},
		"follow": {"url": "%[1]s/moved", "followRedirects": true},
		"selfsigned": {"url": "%[2]s", "insecure": true}}}`, srv.URL, tls.URL)
	r := runFixture(t, "check_http", fixture{config: conf})
	// The redirect is not followed unless asked.
	r.want(t, 300, "1 of 5 URLs failing: old (HTTP 301, expected 200)")
	r.metricValue(t, "url", "home")
	r = runFixture(t, "check_http", fixture{config: fmt.Sprintf(`{"urls": ["%s/ok", {"name": "tls", "url": "%s"}, "%s/x"]}`, srv.URL, tls.URL, deadURL)})
	r.want(t, 300, "2 of 3 URLs failing", "tls (certificate not trusted)", "/x (connection refused)")
	r = runFixture(t, "check_http", fixture{config: `{"urls": [{"expectedCode": 200}]}`})
	r.want(t, 500, `every URL entry needs a "url"`)
	r = runFixture(t, "check_http", fixture{})
	r.want(t, 100, "No URL configured")
}

// fakeNTP answers SNTP requests with a clock skew ahead of the real one.
func fakeNTP(t *testing.T, skew time.Duration, stratum byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 48)
		for {
			_, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			resp := make([]byte, 48)
			resp[0], resp[1] = 0x24, stratum // version 4, mode 4 (server)
			put := func(off int, tm time.Time) {
				d := tm.Sub(ntpEpoch)
				binary.BigEndian.PutUint32(resp[off:], uint32(d/time.Second))
				binary.BigEndian.PutUint32(resp[off+4:], uint32(uint64(d%time.Second)<<32/uint64(time.Second)))
			}
			now := time.Now().Add(skew)
			put(32, now)
			put(40, now)
			_, _ = pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

func TestNTP(t *testing.T) {
	t.Parallel()
	host, port, _ := net.SplitHostPort(fakeNTP(t, 30*time.Second, 2))
	r := runFixture(t, "check_ntp", fixture{config: fmt.Sprintf(`{"ntp_server": %q, "port": %s}`, host, port)})
	r.want(t, 200, "Clock offset ", "from 127.0.0.1 (stratum 2) (>= 10s)")
	if off := r.metricValue(t, "type", "offset_seconds"); off < 29.9 || off > 30.1 {
		t.Fatalf("offset %v, want about 30s", off)
	}
	host, port, _ = net.SplitHostPort(fakeNTP(t, 0, 0))
	r = runFixture(t, "check_ntp", fixture{config: fmt.Sprintf(`{"ntp_server": %q, "port": %s}`, host, port)})
	r.want(t, 300, "did not answer", "not synchronised")

	chrony := heredoc("A29FC87B,ntp1.example.com,3,1764763200.123,0.000012345,-0.000001,0.000003,-12.5,0.001,0.02,0.01,0.001,1024.0,Normal\n", "0")
	r = runFixture(t, "check_ntp", fixture{stubs: map[string]string{"chronyc": chrony}})
	r.want(t, 100, "Clock offset 0.000012s from chrony, source ntp1.example.com")
	unsync := heredoc("00000000,,0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,Not synchronised\n", "0")
	r = runFixture(t, "check_ntp", fixture{stubs: map[string]string{"chronyc": unsync}})
	r.want(t, 200, "not synchronised")
	ntpq := heredoc(`     remote           refid      st t when poll reach   delay   offset  jitter
==============================================================================
+192.0.2.10      .GPS.            1 u  100 1024  377    1.234   -0.456   0.100
*192.0.2.11      .PPS.            1 u  200 1024  377    2.345  12345.6   0.200
`, "0")
	r = runFixture(t, "check_ntp", fixture{stubs: map[string]string{"ntpq": ntpq}})
	r.want(t, 200, "Clock offset 12.345600s from ntpd, peer 192.0.2.11 (>= 10s)")
	if r := runFixture(t, "check_ntp", fixture{}); r.code != exitRemove {
		t.Fatalf("no NTP at all: exit %d, want 13", r.code)
	}
}

// fakeRedis speaks just enough RESP for AUTH and INFO, from a recording.
func fakeRedis(t *testing.T, info, password string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var args []string
					head, err := br.ReadString('\n')
					if err != nil {
						return
					}
					var n int
					fmt.Sscanf(head, "*%d", &n)
					for i := 0; i < n; i++ {
						_, _ = br.ReadString('\n')
						a, _ := br.ReadString('\n')
						args = append(args, strings.TrimSpace(a))
					}
					switch {
					case len(args) == 2 && args[0] == "AUTH" && args[1] == password:
						io.WriteString(c, "+OK\r\n")
					case len(args) > 0 && args[0] == "AUTH":
						io.WriteString(c, "-WRONGPASS invalid username-password pair\r\n")
					case len(args) > 0 && args[0] == "INFO":
						fmt.Fprintf(c, "$%d\r\n%s\r\n", len(info), info)
					default:
						io.WriteString(c, "-ERR unknown command\r\n")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

const redisInfoText = "# Server\r\nredis_version:7.0.15\r\n# Clients\r\nconnected_clients:12\r\n# Memory\r\nused_memory:1048576\r\nmem_fragmentation_ratio:1.25\r\n# Persistence\r\nloading:0\r\n# Replication\r\nrole:master\r\n"

func TestRedis(t *testing.T) {
	t.Parallel()
	addr := fakeRedis(t, redisInfoText, "s3cret")
	r := runFixture(t, "redis", fixture{config: fmt.Sprintf(`{"redisToCheck": [%q], "password": "s3cret", "exclude": ["used_memory"]}`, addr)})
	r.want(t, 100, "Up: "+addr+" (redis 7.0.15, master)")
	if v := r.metricValue(t, "type", "connected_clients"); v != 12 {
		t.Fatalf("connected_clients %v", v)
	}
	for _, m := range r.Metrics {
		if m.Tags["type"] == "used_memory" {
			t.Fatalf("excluded field published: %v", m)
		}
	}
	r = runFixture(t, "redis", fixture{config: fmt.Sprintf(`{"redisToCheck": [%q], "password": "wrong"}`, addr)})
	r.want(t, 300, "AUTH refused: -WRONGPASS")
	replica := strings.Replace(redisInfoText, "role:master\r\n", "role:slave\r\nmaster_link_status:down\r\n", 1)
	addr2 := fakeRedis(t, replica, "")
	r = runFixture(t, "redis", fixture{config: fmt.Sprintf(`{"redisToCheck": [%q]}`, addr2)})
	r.want(t, 300, "replica's link to its master is down")
	// A configured server that is down is CRIT, not "absent". (The error
	// is not checked word for word: on a shared machine the freed port may
	// be taken again, and refused becomes reset.)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	r = runFixture(t, "redis", fixture{config: fmt.Sprintf(`{"redisToCheck": [%q]}`, dead)})
	r.want(t, 300, dead)
}

const haproxyStat = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
www,FRONTEND,,,3,10,2000,100,1000,2000,0,0,0,,,,,OPEN,
app,web1,0,0,1,5,,50,500,1000,,0,,0,0,0,0,UP,1
app,web2,0,0,0,5,,50,500,1000,,0,,0,0,0,0,DOWN,1
app,web3,0,0,0,5,,50,500,1000,,0,,0,0,0,0,UP 1/3,1
app,BACKEND,0,0,1,10,200,100,1000,2000,0,0,,0,0,0,0,UP,2
api,api1,0,0,0,5,,50,500,1000,,0,,0,0,0,0,DOWN,1
api,BACKEND,0,0,0,10,200,100,1000,2000,0,0,,0,0,0,0,DOWN,0
static,s1,0,0,0,5,,50,500,1000,,0,,0,0,0,0,no check,1
static,BACKEND,0,0,0,10,200,100,1000,2000,0,0,,0,0,0,0,UP,1

`

// haproxySocket serves a recorded "show stat" on a unix socket under root.
func haproxySocket(t *testing.T, root, path string) {
	t.Helper()
	full := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", full)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l, _ := bufio.NewReader(c).ReadString('\n')
			if l == "show stat\n" {
				io.WriteString(c, haproxyStat)
			} else {
				io.WriteString(c, "Unknown command.\n")
			}
			c.Close()
		}
	}()
}

func TestHaproxy(t *testing.T) {
	t.Parallel()
	setup := func(root string) { haproxySocket(t, root, "/run/haproxy/admin.sock") }
	r := runFixture(t, "haproxy", fixture{setup: setup})
	r.want(t, 300, "api is DOWN", "app: 1 of 3 servers down")
	if v := r.metricValue(t, "backend", "app"); v != 1 {
		t.Fatalf("app servers down %v", v)
	}
	r = runFixture(t, "haproxy", fixture{setup: setup, config: `{"hostsDownCritCount": 2, "hostsDownWarnCount": 1, "exclude": ["^api$"]}`})
	r.want(t, 200, "app: 1 of 3 servers down")
	r = runFixture(t, "haproxy", fixture{setup: setup, config: `{"include": ["static"]}`})
	r.want(t, 100, "1 backend up")
	if r := runFixture(t, "haproxy", fixture{}); r.code != exitRemove {
		t.Fatalf("no haproxy: exit %d, want 13", r.code)
	}
}
