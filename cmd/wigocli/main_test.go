package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fixturesDir is where the original wigo's recorded answers live: the repo is
// checked out beside shared/, three levels up from this package.
var fixturesDir = filepath.Join("..", "..", "..", "shared", "fixtures", "original-api")

// fixture reads one recorded answer, skipping the test when the shared
// fixtures are not checked out next to the repo.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, name))
	if os.IsNotExist(err) {
		t.Skipf("fixture %s not found (shared/ is expected beside the repo at %s)", name, fixturesDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request is what the fake API saw.
type request struct {
	path, query   string
	user, pass    string
	authenticated bool
}

// fakeAPI serves bodies at exact paths, like the original at the routes the
// fixtures were recorded from, and remembers every request.
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	routes map[string][]byte
	seen   []request
}

func newFakeAPI(t *testing.T, routes map[string][]byte) *fakeAPI {
	t.Helper()
	f := &fakeAPI{routes: routes}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	f.mu.Lock()
	f.seen = append(f.seen, request{path: r.URL.EscapedPath(), query: r.URL.RawQuery, user: u, pass: p, authenticated: ok})
	body, found := f.routes[r.URL.EscapedPath()]
	f.mu.Unlock()
	if !found {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

func (f *fakeAPI) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.seen...)
}

// fixtureRoutes serves the recorded answers at the routes they came from.
func fixtureRoutes(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"/api":                          fixture(t, "api.json"),
		"/api/hosts/leaf-1":             fixture(t, "api_hosts_leaf-1.json"),
		"/api/hosts/leaf-1/probes/warn": fixture(t, "api_hosts_leaf-1_probes_warn.json"),
		"/api/logs":                     fixture(t, "api_logs.json"),
	}
}

// cli runs the command line and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// lineWith returns the first output line containing every one of words.
func lineWith(out string, words ...string) string {
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, w := range words {
			if !strings.Contains(l, w) {
				all = false
				break
			}
		}
		if all {
			return l
		}
	}
	return ""
}

var escape = regexp.MustCompile("\x1b\\[")

func TestSummaryListsOnlyProblems(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, errOut, code := cli(t, "-H", api.URL)
	if code != exitCrit {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitCrit, errOut)
	}
	if !strings.HasPrefix(out, "master-1: CRIT - 2 of 2 hosts not OK\n") {
		t.Errorf("status line wrong:\n%s", out)
	}
	if lineWith(out, "CRIT", "warn", "disk 99%") == "" {
		t.Errorf("leaf-1's warn probe at CRIT missing:\n%s", out)
	}
	if lineWith(out, "CRIT", "crit", "service down") == "" {
		t.Errorf("master-1's crit probe missing:\n%s", out)
	}
	if strings.Contains(out, "load") || strings.Contains(out, "0.39") {
		t.Errorf("summary lists the OK load probe:\n%s", out)
	}
	// Worst first, then by name: both hosts are CRIT, so leaf-1 comes first.
	if li, mi := strings.Index(out, "leaf-1"), strings.Index(out, "master-1  "); li < 0 || mi < 0 || li > mi {
		t.Errorf("hosts not sorted by status then name:\n%s", out)
	}
	if escape.MatchString(out) {
		t.Errorf("colour escapes with -color auto on a non-terminal:\n%q", out)
	}
	if got := api.requests(); len(got) != 1 || got[0].path != "/api" || got[0].authenticated {
		t.Errorf("requests = %+v, want one unauthenticated GET /api", got)
	}
}

func TestSummaryAlignsColumns(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, _, _ := cli(t, "-H", api.URL)
	want := "master-1: CRIT - 2 of 2 hosts not OK\n" +
		"\n" +
		"CRIT  leaf-1    web\n" +
		"      CRIT  warn  disk 99%\n" +
		"CRIT  master-1  infra\n" +
		"      CRIT  crit  service down\n"
	if out != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out, want)
	}
}

func TestDetailListsEverything(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, _, code := cli(t, "detail", "-H", api.URL) // flags after the command work too
	if code != exitCrit {
		t.Fatalf("exit %d, want %d", code, exitCrit)
	}
	load := lineWith(out, "load")
	if !strings.Contains(load, "OK") || !strings.Contains(load, "0.39 0.47 0.34") {
		t.Errorf("detail lacks the OK load probe:\n%s", out)
	}
	for _, want := range []string{"disk 99%", "service down"} {
		if !strings.Contains(out, want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}
	// Within leaf-1 the CRIT probe comes before the OK one.
	if strings.Index(out, "warn") > strings.Index(out, "load") {
		t.Errorf("probes not sorted worst first:\n%s", out)
	}
}

func TestDownRemote(t *testing.T) {
	api := newFakeAPI(t, map[string][]byte{"/api": fixture(t, "api_with_down_remote.json")})
	out, errOut, code := cli(t, "-H", api.URL)
	// The original master's GlobalStatus stays 300 and ignores the DOWN
	// remote; wigocli must not.
	if code != exitCrit {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitCrit, errOut)
	}
	if !strings.HasPrefix(out, "master-1: DOWN - 2 of 2 hosts not OK, 1 DOWN\n") {
		t.Errorf("status line wrong:\n%s", out)
	}
	leaf := lineWith(out, "leaf-1")
	if !strings.HasPrefix(leaf, "DOWN") || !strings.Contains(leaf, "not heard from since 2026-11-25 10:34:35 UTC") {
		t.Errorf("leaf-1 not marked DOWN: %q\n%s", leaf, out)
	}
	// DOWN sorts above CRIT.
	if strings.Index(out, "leaf-1") > strings.Index(out, "master-1  ") {
		t.Errorf("DOWN host not first:\n%s", out)
	}
}

func TestLocalProbe(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, errOut, code := cli(t, "-H", api.URL, "probe", "crit")
	if code != exitCrit {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitCrit, errOut)
	}
	for _, want := range []string{
		"host:      master-1\n",
		"probe:     crit\n",
		"status:    300\n",
		"level:     CRIT\n",
		"message:   service down\n",
		"date:      2026-11-25T10:34:20.443134 (UTC)\n",
		"version:   1.2\n",
		"exit code: 0\n",
		"metrics:   none\n",
		"detail:\n  {\n    \"pid\": null,\n    \"restarts\": 3\n  }\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
}

func TestLocalProbeMissing(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, errOut, code := cli(t, "-H", api.URL, "probe", "nope")
	if code != exitUnknown || out != "" {
		t.Fatalf("exit %d, stdout %q; want 3 and nothing", code, out)
	}
	if !strings.Contains(errOut, `no probe "nope" on the local host master-1 (its probes: crit)`) {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestLocalProbeJSON(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, _, code := cli(t, "-H", api.URL, "-json", "probe", "crit")
	if code != exitCrit {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(out, `{"Name":"crit","Version":"1.2"`) || !strings.HasSuffix(out, "}\n") {
		t.Errorf("raw probe JSON expected, got %s", out)
	}
}

func TestRemoteHost(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, errOut, code := cli(t, "-H", api.URL, "remote", "leaf-1")
	if code != exitCrit {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitCrit, errOut)
	}
	if !strings.HasPrefix(out, "leaf-1: CRIT - 1 of 1 host not OK\n") {
		t.Errorf("status line wrong:\n%s", out)
	}
	if lineWith(out, "OK", "load", "0.39 0.47 0.34") == "" || lineWith(out, "CRIT", "warn", "disk 99%") == "" {
		t.Errorf("remote lacks probes:\n%s", out)
	}
	if got := api.requests(); len(got) != 1 || got[0].path != "/api/hosts/leaf-1" {
		t.Errorf("requests = %+v", got)
	}
}

func TestRemoteHostUnknown(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	_, errOut, code := cli(t, "-H", api.URL, "remote", "no such/host")
	if code != exitUnknown {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errOut, api.URL+"/api/hosts/no%20such%2Fhost") || !strings.Contains(errOut, `host "no such/host" not found (404 Not Found)`) {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestRemoteProbe(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, errOut, code := cli(t, "-H", api.URL, "remote", "leaf-1", "probe", "warn")
	if code != exitCrit {
		t.Fatalf("exit %d, want %d; stderr: %s", code, exitCrit, errOut)
	}
	for _, want := range []string{"host:      leaf-1\n", "probe:     warn\n", "level:     CRIT\n",
		"message:   disk 99%\n", "version:   -\n", "detail:\n  {\n    \"x\": 1\n  }\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if got := api.requests(); len(got) != 1 || got[0].path != "/api/hosts/leaf-1/probes/warn" {
		t.Errorf("requests = %+v", got)
	}
}

func TestRemoteProbeMetrics(t *testing.T) {
	api := newFakeAPI(t, map[string][]byte{"/api/hosts/leaf-1/probes/load": []byte(
		`{"Name":"load","Message":"0.39","Metrics":[{"Tags":{"load":"load1","b":"x"},"Value":0.39},{"Tags":null,"Value":12}],"Detail":null,"Status":100}`)})
	out, _, code := cli(t, "-H", api.URL, "remote", "leaf-1", "probe", "load")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "metrics:\n  0.39  b=x load=load1\n  12\n") || !strings.Contains(out, "detail:    none\n") {
		t.Errorf("output:\n%s", out)
	}
}

// The original answers 200 with an empty body for a probe a host lacks.
func TestRemoteProbeEmptyAnswer(t *testing.T) {
	api := newFakeAPI(t, map[string][]byte{"/api/hosts/leaf-1/probes/gone": {}})
	_, errOut, code := cli(t, "-H", api.URL, "remote", "leaf-1", "probe", "gone")
	if code != exitUnknown || !strings.Contains(errOut, `probe "gone" not found on host "leaf-1"`) {
		t.Errorf("exit %d, stderr: %s", code, errOut)
	}
}

func TestJSONPrintsRawAnswer(t *testing.T) {
	routes := fixtureRoutes(t)
	api := newFakeAPI(t, routes)
	out, _, code := cli(t, "-json", "-H", api.URL)
	if code != exitCrit {
		t.Fatalf("exit %d", code)
	}
	if out != string(bytes.TrimSpace(routes["/api"]))+"\n" {
		t.Errorf("-json output differs from the answer:\n%s", out)
	}
}

func TestBasicAuth(t *testing.T) {
	routes := fixtureRoutes(t)
	var mu sync.Mutex
	var sent []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		mu.Lock()
		sent = append(sent, u+":"+p)
		mu.Unlock()
		if !ok || u != "admin" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="wigo"`)
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write(routes[r.URL.Path])
	}))
	t.Cleanup(srv.Close)

	out, errOut, code := cli(t, "-H", srv.URL)
	if code != exitUnknown || out != "" {
		t.Errorf("no credentials: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "GET "+srv.URL+"/api: authentication required: use -u and -p") {
		t.Errorf("no credentials: stderr %q", errOut)
	}

	_, errOut, code = cli(t, "-H", srv.URL, "-u", "admin", "-p", "wrong")
	if code != exitUnknown || !strings.Contains(errOut, `authentication failed (401) for login "admin": check -u and -p`) {
		t.Errorf("wrong password: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "wrong") {
		t.Errorf("the password leaks into the error: %q", errOut)
	}

	out, errOut, code = cli(t, "-H", srv.URL, "-u", "admin", "-p", "s3cret")
	if code != exitCrit || !strings.Contains(out, "master-1: CRIT") {
		t.Errorf("good credentials: exit %d, stderr %q", code, errOut)
	}

	// Credentials in the URL count too, and are never printed back.
	u := strings.Replace(srv.URL, "http://", "http://admin:s3cret@", 1)
	if _, errOut, code = cli(t, "-H", u); code != exitCrit {
		t.Errorf("URL credentials: exit %d, stderr %q", code, errOut)
	}

	mu.Lock()
	defer mu.Unlock()
	want := []string{":", "admin:wrong", "admin:s3cret", "admin:s3cret"}
	if strings.Join(sent, ",") != strings.Join(want, ",") {
		t.Errorf("credentials sent %v, want %v", sent, want)
	}
}

func TestPasswordFromEnvironment(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, got, _ = r.BasicAuth()
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, isTerminal: func(io.Writer) bool { return false },
		getenv: func(k string) string {
			if k == "WIGO_PASSWORD" {
				return "fromenv"
			}
			return ""
		}}
	a.run([]string{"-H", srv.URL, "-u", "admin"})
	if got != "fromenv" {
		t.Errorf("password sent %q, want the one from WIGO_PASSWORD", got)
	}
}

func TestGarbageAnswers(t *testing.T) {
	cases := map[string]struct{ body, want string }{
		"html":          {"<html><body>502 Bad Gateway</body></html>", "the answer is not JSON"},
		"empty":         {"", "empty answer"},
		"truncated":     {`{"LocalHost":{"Name":"x"`, "the answer is not JSON"},
		"null":          {"null", "no LocalHost"},
		"object":        {`{"foo":1}`, "no LocalHost"},
		"null host":     {`{"Uuid":"u","LocalHost":null,"GlobalStatus":100}`, "no LocalHost"},
		"array":         {`[1,2]`, "the answer is not a Wigo document"},
		"number":        {`300`, "the answer is not a Wigo document"},
		"wrong type":    {`{"LocalHost":{"Name":"x","Status":"bad"}}`, "the answer is not a Wigo document"},
		"no status":     {`{"LocalHost":{"Name":"x","Probes":null}}`, "no host or probe in the answer carries a valid status"},
		"trailing junk": {`{"LocalHost":{"Name":"x","Status":100}} xx`, "the answer is not JSON"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t, map[string][]byte{"/api": []byte(tc.body)})
			for _, cmd := range [][]string{nil, {"detail"}, {"probe", "x"}} {
				_, errOut, code := cli(t, append([]string{"-H", api.URL}, cmd...)...)
				if code != exitUnknown {
					t.Errorf("%v: exit %d, want 3", cmd, code)
				}
				if !strings.Contains(errOut, "GET "+api.URL+"/api") {
					t.Errorf("%v: error does not name the URL: %s", cmd, errOut)
				}
				if cmd == nil && !strings.Contains(errOut, tc.want) {
					t.Errorf("stderr %q lacks %q", errOut, tc.want)
				}
			}
		})
	}
}

// Odd but decodable shapes must not panic and must still be judged.
func TestOddShapes(t *testing.T) {
	doc := `{"Uuid":"top","LocalHost":{"Name":"top","Status":100,"Probes":{"a":null,"b":{"Status":100}}},
	 "RemoteWigos":{
	   "x":null,
	   "y":{"Uuid":"y","IsAlive":true,"GlobalStatus":200,"LocalHost":null,"Hostname":"nohost"},
	   "z":{"Uuid":"z","IsAlive":true,"LocalHost":{"Name":"z","Status":100,"Probes":null},
	        "RemoteWigos":{"deep":{"Uuid":"deep","IsAlive":true,"LocalHost":{"Name":"deep","Status":250,
	          "Probes":{"p":{"Name":"p","Status":250,"Message":"line1\nline2\u001b[2J"}}}},
	          "dup":{"Uuid":"z","IsAlive":false,"LocalHost":{"Name":"z-again","Status":999}}}}}}`
	api := newFakeAPI(t, map[string][]byte{"/api": []byte(doc)})
	out, errOut, code := cli(t, "-H", api.URL, "detail")
	if code != exitWarn {
		t.Fatalf("exit %d, want 1; stderr: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"nohost", "deep", "line1 line2\\x1b[2J", "no probes"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "z-again") {
		t.Errorf("a repeated UUID is listed twice:\n%s", out)
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, "line1\n") {
		t.Errorf("control characters from the API reach the terminal:\n%q", out)
	}
}

func TestColour(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))

	out, _, _ := cli(t, "-H", api.URL, "-color", "always")
	if !strings.Contains(out, "\x1b[31mCRIT\x1b[0m") {
		t.Errorf("-color always: no red CRIT:\n%q", out)
	}
	out, _, _ = cli(t, "-H", api.URL, "-color", "never")
	if escape.MatchString(out) {
		t.Errorf("-color never: escapes present")
	}

	down := newFakeAPI(t, map[string][]byte{"/api": fixture(t, "api_with_down_remote.json")})
	term := func(noColor string) string {
		var buf bytes.Buffer
		a := &app{stdout: &buf, stderr: &bytes.Buffer{},
			isTerminal: func(io.Writer) bool { return true },
			getenv: func(k string) string {
				if k == "NO_COLOR" {
					return noColor
				}
				return ""
			}}
		a.run([]string{"-H", down.URL})
		return buf.String()
	}
	if out := term(""); !strings.Contains(out, "\x1b[1;35mDOWN\x1b[0m") {
		t.Errorf("auto on a terminal: no bold magenta DOWN:\n%q", out)
	}
	if out := term("1"); escape.MatchString(out) {
		t.Errorf("auto with NO_COLOR: escapes present:\n%q", out)
	}

	_, errOut, code := cli(t, "-color", "sometimes")
	if code != exitUnknown || !strings.Contains(errOut, "-color must be auto, always or never") {
		t.Errorf("bad -color: exit %d, %s", code, errOut)
	}
}

func TestUnreachable(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	out, errOut, code := cli(t, "-H", addr)
	if code != exitUnknown || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "GET http://"+addr+"/api: connection refused") {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first, so Close does not wait

	_, errOut, code := cli(t, "-H", srv.URL, "-timeout", "200ms")
	if code != exitUnknown || !strings.Contains(errOut, "no answer within 200ms") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestTLS(t *testing.T) {
	routes := fixtureRoutes(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(routes[r.URL.Path])
	}))
	t.Cleanup(srv.Close)

	_, errOut, code := cli(t, "-H", srv.URL)
	if code != exitUnknown || !strings.Contains(errOut, "use -k") {
		t.Errorf("untrusted certificate: exit %d, stderr %s", code, errOut)
	}
	if _, errOut, code = cli(t, "-H", srv.URL, "-k"); code != exitCrit {
		t.Errorf("-k: exit %d, stderr %s", code, errOut)
	}
	// Plain HTTP to a TLS port: Go's server answers 400 and says so.
	plain := strings.Replace(srv.URL, "https://", "http://", 1)
	if _, errOut, code = cli(t, "-H", plain); code != exitUnknown || !strings.Contains(errOut, "the server speaks HTTPS") {
		t.Errorf("http to https: exit %d, stderr %s", code, errOut)
	}
}

func TestLogs(t *testing.T) {
	entries := `[{"Date":"2026-11-25T10:34:21.000000 (UTC)","Timestamp":1795602861,"Level":6,
	  "Message":"Probe warn switched from 250 to 300 : disk 99%","Host":"leaf-1","Probe":"warn","Group":"web"},
	  {"Date":"","Timestamp":1795602800,"Level":7,"Message":"Host leaf-1 is DOWN","Host":"leaf-1","Probe":"","Group":"web"}]`
	api := newFakeAPI(t, map[string][]byte{"/api/logs": []byte(entries)})
	out, errOut, code := cli(t, "-H", api.URL, "logs", "-host", "leaf-1", "-group", "web", "-probe", "warn", "-limit", "2", "-offset", "4")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	want := "2026-11-25T10:34:21.000000 (UTC)  CRITICAL   leaf-1  warn  Probe warn switched from 250 to 300 : disk 99%\n" +
		"2026-11-25T10:33:20.000000 (UTC)  EMERGENCY  leaf-1  -     Host leaf-1 is DOWN\n"
	if out != want {
		t.Errorf("logs:\n%s\nwant:\n%s", out, want)
	}
	got := api.requests()
	if len(got) != 1 || got[0].path != "/api/logs" ||
		got[0].query != "group=web&host=leaf-1&hostname=leaf-1&limit=2&offset=4&probe=warn" {
		t.Errorf("requests = %+v", got)
	}
}

func TestLogsRecordedEmpty(t *testing.T) {
	api := newFakeAPI(t, fixtureRoutes(t))
	out, _, code := cli(t, "-H", api.URL, "logs")
	if code != exitOK || out != "no log entries\n" {
		t.Errorf("exit %d, out %q", code, out)
	}
	if got := api.requests(); len(got) != 1 || got[0].query != "" {
		t.Errorf("requests = %+v", got)
	}
}

func TestLogsGarbage(t *testing.T) {
	api := newFakeAPI(t, map[string][]byte{"/api/logs": []byte(`{"not":"a list"}`)})
	_, errOut, code := cli(t, "-H", api.URL, "logs")
	if code != exitUnknown || !strings.Contains(errOut, "not a list of log entries") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	out, _, code := cli(t, "-h")
	if code != exitOK || !strings.Contains(out, "Exit codes") || !strings.Contains(out, "remote HOST probe NAME") {
		t.Errorf("-h: exit %d\n%s", code, out)
	}
	out, _, code = cli(t, "-version")
	if code != exitOK || !strings.HasPrefix(out, "wigocli ") {
		t.Errorf("-version: exit %d, %q", code, out)
	}
	for _, args := range [][]string{
		{"frobnicate"},
		{"remote"},
		{"remote", "h", "probe"},
		{"probe"},
		{"detail", "extra"},
		{"-limit", "5"},
		{"detail", "-host", "x"},
		{"logs", "-limit", "-1"},
		{"-timeout", "0s"},
		{"-nosuchflag"},
		{"-H", "ftp://x"},
		{"remote", ".."},
	} {
		_, errOut, code := cli(t, args...)
		if code != exitUnknown || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 3 and a message", args, code, errOut)
		}
	}
}

func TestParseBase(t *testing.T) {
	cases := []struct {
		in, want, user, pass string
		bad                  bool
	}{
		{in: "127.0.0.1:4000", want: "http://127.0.0.1:4000"},
		{in: "wigo.example", want: "http://wigo.example:4000"},
		{in: "::1", want: "http://[::1]:4000"},
		{in: "[::1]:4001", want: "http://[::1]:4001"},
		{in: ":4002", want: "http://127.0.0.1:4002"},
		{in: "http://wigo.example:5000/prefix/", want: "http://wigo.example:5000/prefix"},
		{in: "HTTPS://wigo.example", want: "https://wigo.example"},
		{in: "https://me:pw@wigo.example/?q#f", want: "https://wigo.example", user: "me", pass: "pw"},
		{in: "", bad: true},
		{in: "ftp://wigo.example", bad: true},
		{in: "http://", bad: true},
		{in: "host:http", bad: true},
		{in: "host:70000", bad: true},
		{in: "host/path", bad: true},
	}
	for _, c := range cases {
		u, user, pass, err := parseBase(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("%q: accepted as %s", c.in, u)
			}
			continue
		}
		if err != nil || u.String() != c.want || user != c.user || pass != c.pass {
			t.Errorf("%q: got %v %q %q %v, want %s %q %q", c.in, u, user, pass, err, c.want, c.user, c.pass)
		}
	}
}

func TestExitCodes(t *testing.T) {
	for status, want := range map[int]int{
		0: 3, 99: 3, 100: 0, 101: 0, 199: 0, 200: 1, 299: 1, 300: 2, 499: 2, 500: 2, 998: 2, 999: 2, 1000: 2,
	} {
		if got := exitCode(status); got != want {
			t.Errorf("exitCode(%d) = %d, want %d", status, got, want)
		}
	}
	// DOWN outranks a larger ERROR code; a missing status hides nothing.
	if !worse(999, 1000) || worst(0, 100) != 100 || worst(250, 0) != 250 {
		t.Error("severity order wrong")
	}
}

func TestNothingWrongIsOneLine(t *testing.T) {
	doc := `{"Uuid":"a","IsAlive":true,"GlobalStatus":100,"LocalHost":{"Name":"a","Status":100,
	  "Probes":{"x":{"Name":"x","Status":100}}},"RemoteWigos":{"b":{"Uuid":"b","IsAlive":true,
	  "GlobalStatus":100,"LocalHost":{"Name":"b","Status":100,"Probes":{"y":{"Name":"y","Status":100}}}}}}`
	api := newFakeAPI(t, map[string][]byte{"/api": []byte(doc)})
	out, _, code := cli(t, "-H", api.URL)
	if code != exitOK || out != "a: OK - all 2 hosts and 2 probes OK\n" {
		t.Errorf("exit %d, out %q", code, out)
	}
}

func TestInfoIsListedButExitsZero(t *testing.T) {
	doc := `{"Uuid":"a","IsAlive":true,"GlobalStatus":150,"LocalHost":{"Name":"a","Status":150,
	  "Probes":{"x":{"Name":"x","Status":150,"Message":"fyi"},"y":{"Name":"y","Status":100}}}}`
	api := newFakeAPI(t, map[string][]byte{"/api": []byte(doc)})
	out, _, code := cli(t, "-H", api.URL)
	if code != exitOK || lineWith(out, "INFO", "x", "fyi") == "" || strings.Contains(out, "  y  ") {
		t.Errorf("exit %d, out:\n%s", code, out)
	}
}

// IsAlive:false alone makes a host DOWN, whatever its last statuses say; the
// same holds for the document /api/hosts/HOST answers about a remote.
func TestNotAliveIsDown(t *testing.T) {
	leaf := `{"Uuid":"l","IsAlive":false,"GlobalStatus":100,"LastUpdate":0,
	  "LocalHost":{"Name":"leaf","Status":100,"Probes":{"x":{"Name":"x","Status":100}}}}`
	doc := `{"Uuid":"m","IsAlive":true,"GlobalStatus":100,"LocalHost":{"Name":"m","Status":100,"Probes":{}},
	  "RemoteWigos":{"l":` + leaf + `}}`
	api := newFakeAPI(t, map[string][]byte{"/api": []byte(doc), "/api/hosts/leaf": []byte(leaf)})
	out, _, code := cli(t, "-H", api.URL)
	if code != exitCrit || !strings.Contains(out, "DOWN  leaf  -  not heard from\n") {
		t.Errorf("summary: exit %d\n%s", code, out)
	}
	out, _, code = cli(t, "-H", api.URL, "remote", "leaf")
	if code != exitCrit || !strings.HasPrefix(out, "leaf: DOWN") {
		t.Errorf("remote: exit %d\n%s", code, out)
	}
}

// The write commands of the access layer go where the API has them:
// approving and revoking a push client, retrying a dead letter.
func TestAuthorityAndRetryCommands(t *testing.T) {
	srv := newFakeAPI(t, map[string][]byte{
		"/api/authority/hosts/0b7a-1/allow":  []byte(`{}`),
		"/api/authority/hosts/0b7a-1/revoke": []byte(`{}`),
		"/api/notifications/42/retry":        []byte(`{"Id":42}`),
	})
	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"authority", "allow", "0b7a-1"}, "push client 0b7a-1: allowed\n"},
		{[]string{"authority", "revoke", "0b7a-1"}, "push client 0b7a-1: revoked\n"},
		{[]string{"notifications", "retry", "42"}, "notification 42: queued again\n"},
	} {
		out, errOut, code := cli(t, append([]string{"-H", srv.URL}, c.args...)...)
		if code != 0 || out != c.out {
			t.Errorf("wigocli %v: %d %q %s, want %q", c.args, code, out, errOut, c.out)
		}
	}
	got := srv.requests()
	if len(got) != 3 || got[0].path != "/api/authority/hosts/0b7a-1/allow" || got[2].path != "/api/notifications/42/retry" {
		t.Errorf("requests %+v", got)
	}
	if _, errOut, code := cli(t, "-H", srv.URL, "authority", "approve", "x"); code == 0 || !strings.Contains(errOut, "usage: wigocli authority allow|revoke UUID") {
		t.Errorf("a wrong verb: %d %s", code, errOut)
	}
}
