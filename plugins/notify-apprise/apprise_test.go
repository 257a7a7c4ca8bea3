package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/sdktest"
)

// needApprise skips without apprise, except in CI where it must be there.
func needApprise(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("apprise"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("apprise is not installed, and CI is set: install it (apt install apprise)")
		}
		t.Skip("apprise is not installed (apt install apprise); set CI to make this a failure")
	}
}

type post struct {
	path string
	body map[string]any
}

// sink is a real HTTP server receiving apprise's json:// posts.
func sink(t *testing.T, status int, delay time.Duration) (string, chan post) {
	t.Helper()
	got := make(chan post, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		var p post
		p.path = r.URL.Path
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &p.body)
		got <- p
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return "json://" + strings.TrimPrefix(srv.URL, "http://"), got
}

func TestAppriseDelivers(t *testing.T) {
	needApprise(t)
	base, got := sink(t, http.StatusOK, 0)
	c := sdktest.Notifier(t, &notifier{})
	err := c.Configure(fmt.Sprintf(`
urls = [%q]
target "web" {
  urls   = [%q, %q]
  groups = ["WEB*"]
}
target "db" {
  urls  = [%q]
  hosts = ["db-*"]
}
`, base+"/all", base+"/web", base+"/all", base+"/db"))
	if err != nil {
		t.Fatal(err)
	}
	n := sdktest.Notification() // host web1, group webservers
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	paths := map[string]map[string]any{}
	for range 2 { // /all once although listed twice, and /web
		select {
		case p := <-got:
			paths[p.path] = p.body
		case <-time.After(20 * time.Second):
			t.Fatalf("only %v arrived", paths)
		}
	}
	select {
	case p := <-got:
		t.Fatalf("unexpected extra post to %s", p.path)
	case <-time.After(300 * time.Millisecond):
	}
	if _, ok := paths["/all"]; !ok {
		t.Fatalf("posts: %v", paths)
	}
	b := paths["/web"]
	if b["title"] != n.Message || b["message"] != strings.TrimSpace(n.Summary) || b["type"] != "failure" {
		t.Fatalf("post = %v", b)
	}
}

func TestAppriseFailureIsAnError(t *testing.T) {
	needApprise(t)
	base, _ := sink(t, http.StatusInternalServerError, 0)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("urls = [%q]", base+"/x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err == nil || !strings.Contains(err.Error(), "apprise") {
		t.Fatalf("err = %v", err)
	}
}

func TestAppriseTimeout(t *testing.T) {
	needApprise(t)
	base, _ := sink(t, http.StatusOK, 5*time.Second)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("urls = [%q]\ntimeout = \"1s\"", base+"/x")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Notify(sdktest.Notification()); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRoute(t *testing.T) {
	cfg := config{
		URLs: []string{"a://1"},
		Targets: map[string]target{
			"web":   {URLs: []string{"b://2", "a://1"}, Groups: []string{"Web*"}},
			"db":    {URLs: []string{"c://3"}, Hosts: []string{"DB-?", "db-main"}},
			"every": {URLs: []string{"d://4"}},
			"both":  {URLs: []string{"e://5"}, Groups: []string{"nope"}, Hosts: []string{"*1"}},
		},
	}
	for _, tc := range []struct {
		host, group string
		want        []string
	}{
		{"web1", "webservers", []string{"a://1", "e://5", "d://4", "b://2"}},
		{"db-a", "sql", []string{"a://1", "c://3", "d://4"}},
		{"DB-MAIN", "", []string{"a://1", "c://3", "d://4"}},
		{"x", "y", []string{"a://1", "d://4"}},
	} {
		got := route(cfg, &sdk.Notification{Hostname: tc.host, Group: tc.group})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("route(%s, %s) = %v, want %v", tc.host, tc.group, got, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	c := sdktest.Notifier(t, &notifier{})
	for src, want := range map[string]string{
		``:                  "no apprise URL",
		`urls = ["mailto"]`: `"mailto" is not an apprise URL`,
		`urls = ["-x://y"]`: `is not an apprise URL`,
		"urls = [\"a://b\"]\napprise_path = \"/nonexistent/apprise\"": `apprise_path "/nonexistent/apprise"`,
		"target \"x\" {\n  url = [\"a://b\"]\n}":                      `test.hcl:2,3: Unsupported argument`,
		"target \"x\" {\n  urls = []\n}":                              `target "x": urls is empty`,
		"target {\n  urls = [\"a://b\"]\n}":                           `Missing name for target`,
		"urls = [\"a://b\"]\ntimeout = \"never\"":                     `timeout "never"`,
	} {
		if err := c.Configure(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure(%q) = %v, want %q", src, err, want)
		}
	}
}
