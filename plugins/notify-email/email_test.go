package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/wigo-project/wigo/sdk/sdktest"
)

// received is one mail as the SMTP server got it.
type received struct {
	from string
	to   []string
	data []byte
	auth string
}

type backend struct{ got chan received }

func (b *backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{b: b}, nil }

type session struct {
	b   *backend
	cur received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "wigo" || pass != "s3cret" {
			return errors.New("bad credentials")
		}
		s.cur.auth = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.cur.data = b
	s.b.got <- s.cur
	return err
}
func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// testCert is a self-signed certificate for 127.0.0.1, borrowed from
// httptest so the test needs no key generation of its own.
func testCert(t *testing.T) tls.Certificate {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	return srv.TLS.Certificates[0]
}

// smtpServer starts a real SMTP server on 127.0.0.1. starttls offers
// STARTTLS; implicit wraps the listener in TLS.
func smtpServer(t *testing.T, starttls, implicit bool) (string, chan received) {
	t.Helper()
	be := &backend{got: make(chan received, 10)}
	s := smtp.NewServer(be)
	s.Domain = "127.0.0.1"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if starttls || implicit {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	}
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close() })
	return l.Addr().String(), be.got
}

// parse reads a mail and decodes its subject and body.
func parse(t *testing.T, data []byte) (*mail.Message, string, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	body, _ := io.ReadAll(r)
	return m, subject, strings.ReplaceAll(string(body), "\r\n", "\n")
}

func wait(t *testing.T, got chan received) received {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived")
	}
	return received{}
}

func TestMailArrives(t *testing.T) {
	addr, got := smtpServer(t, false, false)
	c := sdktest.Notifier(t, &notifier{})
	err := c.Configure(fmt.Sprintf(`
smtp_server   = %q
tls           = "none"
username      = "wigo"
password      = "s3cret"
from_name     = "Wigo Monitor"
from_address  = "wigo@example.org"
to            = ["ops@example.org", "Boss <boss@example.org>"]
dashboard_url = "https://wigo.example.org/"
`, addr))
	if err != nil {
		t.Fatal(err)
	}
	n := sdktest.Notification()
	if err := c.Notify(n); err != nil {
		t.Fatal(err)
	}
	r := wait(t, got)
	if r.auth != "wigo" || r.from != "wigo@example.org" || strings.Join(r.to, ",") != "ops@example.org,boss@example.org" {
		t.Fatalf("envelope = %+v", r)
	}
	m, subject, body := parse(t, r.data)
	if from := m.Header.Get("From"); from != `"Wigo Monitor" <wigo@example.org>` {
		t.Errorf("From = %s", from)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "<ops@example.org>") || !strings.Contains(to, `"Boss" <boss@example.org>`) {
		t.Errorf("To = %s", to)
	}
	if subject != n.Message {
		t.Errorf("Subject = %q, want %q", subject, n.Message)
	}
	if m.Header.Get("X-Wigo-Event-Id") != n.EventId {
		t.Errorf("event id header = %q", m.Header.Get("X-Wigo-Event-Id"))
	}
	for _, want := range []string{"Old Status : 100", "New Status : 300", "Probes in error on web1: load", "Dashboard: https://wigo.example.org/"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestStartTLS(t *testing.T) {
	addr, got := smtpServer(t, true, false)
	c := sdktest.Notifier(t, &notifier{})
	base := fmt.Sprintf("smtp_server = %q\nfrom_address = \"w@example.org\"\nto = [\"o@example.org\"]\n", addr)
	// The certificate is self-signed: verification fails unless turned off.
	if err := c.Configure(base); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if err := c.Configure(base + "insecure_skip_verify = true"); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err != nil {
		t.Fatal(err)
	}
	wait(t, got)
}

func TestStartTLSRequired(t *testing.T) {
	addr, _ := smtpServer(t, false, false)
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("smtp_server = %q\nfrom_address = \"w@example.org\"\nto = [\"o@example.org\"]", addr)); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err == nil {
		t.Fatal("sent in clear although tls = starttls")
	}
}

func TestImplicitTLS(t *testing.T) {
	addr, got := smtpServer(t, false, true)
	c := sdktest.Notifier(t, &notifier{})
	err := c.Configure(fmt.Sprintf(`
smtp_server = %q
tls = "implicit"
insecure_skip_verify = true
from_address = "w@example.org"
to = ["o@example.org"]
`, addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err != nil {
		t.Fatal(err)
	}
	wait(t, got)
}

func TestServerDownIsAnError(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c := sdktest.Notifier(t, &notifier{})
	if err := c.Configure(fmt.Sprintf("smtp_server = %q\ntls = \"none\"\nfrom_address = \"w@example.org\"\nto = [\"o@example.org\"]", addr)); err != nil {
		t.Fatal(err)
	}
	if err := c.Notify(sdktest.Notification()); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	c := sdktest.Notifier(t, &notifier{})
	ok := "from_address = \"w@example.org\"\nto = [\"o@example.org\"]\n"
	for src, want := range map[string]string{
		ok: "Missing required argument",
		ok + `smtp_server = "h:1"` + "\ntls = \"ssl\"":                                 `tls "ssl"`,
		ok + `smtp_server = "h:99999"`:                                                 `want host:port`,
		`smtp_server = "h:25"` + "\nfrom_address = \"nope\"\nto = [\"o@example.org\"]": `from_address "nope"`,
		`smtp_server = "h:25"` + "\nfrom_address = \"w@example.org\"\nto = []":         `at least one recipient`,
		ok + `smtp_server = "h"` + "\npassword = \"x\"":                                `without username`,
		ok + `smtp_server = "h"` + "\nto_address = \"x\"":                              `test.hcl:4,1: Unsupported argument`,
	} {
		if err := c.Configure(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Configure(%q) = %v, want %q", src, err, want)
		}
	}
}
