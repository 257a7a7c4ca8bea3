package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/config"
)

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPluginLogsAreTaggedWithTheInstance(t *testing.T) {
	srv, _ := sink(t)
	cfg, _ := load(t, fmt.Sprintf("notify \"alerts\" {\n  plugin = \"notify-http\"\n  url = %q\n  insecure_skip_verify = true\n}\n", srv.URL))
	var logs lockedBuffer
	m := NewManager(Options{Dir: pluginsDir, Logger: hclog.New(&hclog.LoggerOptions{Name: "wigo", Output: &logs, Level: hclog.Info})})
	defer m.Stop()
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	// The plugin logs a warning from Configure, in its own process; go-plugin
	// appends the binary's name to the instance's logger.
	// The line's key/value pairs come from a JSON object, in no fixed order.
	forwarded := func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "[WARN]  wigo.notify.alerts.notify-http: TLS certificate verification is off:") &&
				strings.Contains(line, " instance=alerts") {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !forwarded() {
		if time.Now().After(deadline) {
			t.Fatalf("plugin log line not forwarded:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailSink is a real SMTP server on 127.0.0.1 passing on each mail's data.
type mailSink struct{ got chan string }

func (s *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{s: s}, nil }

type mailSession struct{ s *mailSink }

func (*mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (m *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	m.s.got <- string(b)
	return err
}
func (*mailSession) Reset()        {}
func (*mailSession) Logout() error { return nil }

// TestThreeNotifiers starts the three real notifier binaries from one
// config, as the daemon does, and sees each deliver: a form POST, a mail at
// a real SMTP server and a POST made by the real apprise.
func TestThreeNotifiers(t *testing.T) {
	_, appriseErr := exec.LookPath("apprise")
	if appriseErr != nil && os.Getenv("CI") != "" {
		t.Fatal("apprise is not installed, and CI is set")
	}

	httpSrv, forms := sink(t)

	mails := &mailSink{got: make(chan string, 10)}
	smtpSrv := smtp.NewServer(mails)
	smtpSrv.Domain = "127.0.0.1"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = smtpSrv.Serve(l) }()
	defer smtpSrv.Close()

	appriseGot := make(chan string, 10)
	appriseSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		appriseGot <- string(b)
	}))
	defer appriseSrv.Close()

	src := fmt.Sprintf(`
notify "http" {
  url = %q
}
notify "mail" {
  plugin       = "notify-email"
  smtp_server  = %q
  tls          = "none"
  from_address = "wigo@example.org"
  to           = ["ops@example.org"]
}
`, httpSrv.URL, l.Addr().String())
	if appriseErr == nil {
		src += fmt.Sprintf("notify \"apprise\" {\n  urls = [%q]\n}\n", "json://"+strings.TrimPrefix(appriseSrv.URL, "http://")+"/hook")
	} else {
		t.Log("apprise is not installed: notify-apprise left out (set CI to make this a failure)")
	}
	cfg, _ := load(t, src)
	m := newManager(t, Options{})
	if diags := m.Start(context.Background(), cfg.Notify); diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	n := note("42")
	n.Message = "Probe load switched from 100 to 300 on host web1"
	for _, in := range cfg.Notify {
		if err := m.Notify(context.Background(), in.Label, n); err != nil {
			t.Fatalf("%s: %v", in.Label, err)
		}
	}
	receive(t, forms, "42")
	wait := func(what string, ch chan string, want string) {
		t.Helper()
		select {
		case got := <-ch:
			if !strings.Contains(got, want) {
				t.Fatalf("%s: got %s, want %q in it", what, got, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s never arrived", what)
		}
	}
	wait("mail", mails.got, "Subject: Probe load switched from 100 to 300 on host web1")
	if appriseErr == nil {
		wait("apprise post", appriseGot, `"title": "Probe load switched from 100 to 300 on host web1"`)
	}
	for _, h := range m.Health() {
		if h.State != StateRunning {
			t.Errorf("%+v", h)
		}
	}
}
