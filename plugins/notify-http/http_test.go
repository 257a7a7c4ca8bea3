package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk/sdktest"
)

type request struct {
	contentType string
	header      http.Header
	form        string // the Notification form field
	body        []byte
}

// sink is a real HTTP server that records requests and answers status.
func sink(t *testing.T, status int) (*httptest.Server, chan request) {
	t.Helper()
	got := make(chan request, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		req.contentType = r.Header.Get("Content-Type")
		req.header = r.Header.Clone()
		if strings.HasPrefix(req.contentType, "application/x-www-form-urlencoded") {
			req.form = r.FormValue("Notification")
		} else {
			req.body, _ = io.ReadAll(r.Body)
		}
		got <- req
		w.WriteHeader(status)
		fmt.Fprint(w, "sink says hello")
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestFormIsTheOriginalField(t *testing.T) {
	srv, got := sink(t, http.StatusOK)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("url = %q", srv.URL)); err != nil {
		t.Fatal(err)
	}
	n := sdktest.Notification()
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want, _ := json.Marshal(n)
	if r.form != string(want) {
		t.Fatalf("Notification field:\n got %s\nwant %s", r.form, want)
	}
	// The original keys and the new ones, by name, as receivers read them.
	var m map[string]any
	if err := json.Unmarshal([]byte(r.form), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Type", "Hostname", "Group", "Message", "Date", "Summary", "Status", "Probe",
		"OldProbe", "NewProbe", "HostProbesInError", "EventId", "Kind", "OldStatus", "NewStatus", "OldLevel", "NewLevel"} {
		if _, ok := m[k]; !ok {
			t.Errorf("key %s missing from %s", k, r.form)
		}
	}
	if m["Date"] != "2026-01-02T03:04:05.600000 (UTC)" {
		t.Errorf("Date = %v, want the original layout", m["Date"])
	}
}

func TestJSONFormatAndHeaders(t *testing.T) {
	srv, got := sink(t, http.StatusNoContent)
	c := sdktest.Notifier(t, &notifier{})
	err := c.Configure(fmt.Sprintf(`
url     = %q
format  = "json"
headers = { Authorization = "Bearer s3cret", "X-Wigo" = "yes" }
`, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	n := sdktest.Notification()
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	r := <-got
	want, _ := json.Marshal(n)
	if string(r.body) != string(want) || r.contentType != "application/json" {
		t.Fatalf("got %s %s, want application/json %s", r.contentType, r.body, want)
	}
	if r.header.Get("Authorization") != "Bearer s3cret" || r.header.Get("X-Wigo") != "yes" {
		t.Fatalf("headers not sent: %v", r.header)
	}
}

func TestNon2xxIsAnError(t *testing.T) {
	srv, got := sink(t, http.StatusInternalServerError)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("url = %q", srv.URL)); err != nil {
		t.Fatal(err)
	}
	err := c.Notify(sdktest.Notification())
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "sink says hello") {
		t.Fatalf("err = %v, want the 500 and the body", err)
	}
	<-got
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("url = %q\ntimeout = \"200ms\"", srv.URL)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := c.Notify(sdktest.Notification())
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestConfigErrors(t *testing.T) {
	c := sdktest.Notifier(t, &notifier{})
	for _, tc := range []struct{ src, want string }{
		{`ulr = "http://x/"`, `test.hcl:1,1: Unsupported argument; An argument named "ulr" is not expected here. Did you mean "url"?`},
		{``, `Missing required argument`},
		{`url = "ftp://x/"`, `test.hcl:1,7: Invalid value for "url"; "ftp://x/" is not an absolute http:// or https:// URL.`},
		{"url = \"http://x/\"\nformat = \"xml\"", `test.hcl:2,10: Invalid value for "format"; "xml" is not a format: want "form" or "json".`},
		{"url = \"http://x/\"\ntimeout = \"soon\"", `timeout "soon"`},
		{"url = \"http://x/\"\ntimeout = 5\nheaders = { a = \"${1e99999999 * 1e99999999}\" }", `test.hcl:3,17: Expression not allowed`},
	} {
		err := c.Configure(tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%q) = %v, want %q", tc.src, err, tc.want)
		}
	}
}
