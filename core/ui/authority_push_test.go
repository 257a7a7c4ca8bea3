package ui_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/testbin"
)

// withTransport parses one transport block and sets it as cfg's only one.
func withTransport(t *testing.T, cfg *config.Config, block string) {
	t.Helper()
	parsed, diags := config.Parse(config.Source{Name: filepath.Join(t.TempDir(), "push.hcl"), Src: []byte(block)})
	if diags.HasErrors() {
		t.Fatal(config.FormatDiagnostics(diags))
	}
	if len(parsed.Transports) != 1 {
		t.Fatalf("parsed %d transport blocks, want 1", len(parsed.Transports))
	}
	cfg.Transports = parsed.Transports
}

// pushPair is a master daemon running the real transport-push plugin with
// a server role that does not auto-accept (its CA and certificate created
// on first start), and a leaf daemon whose push client registers with it
// and waits for approval.
type pushPair struct {
	master, leaf *running
	// uuid is the leaf's; allowedFile the master's allowed-clients file;
	// mdir and ldir their data folders.
	uuid, allowedFile, mdir, ldir string
}

// startPushPair starts the pair; login, when set, is the master's
// "login:password".
func startPushPair(t *testing.T, login string) pushPair {
	t.Helper()
	plugins := testbin.Plugins(t)
	pushPort := freePort(t)

	master := testConfig(t)
	master.Hostname, master.Group = "ui-master", "core"
	master.PluginsDir = plugins
	if login != "" {
		master.HTTP.Login, master.HTTP.Password, _ = strings.Cut(login, ":")
	}
	mdir := t.TempDir()
	allowedFile := filepath.Join(mdir, "data", "allowed_clients")
	withTransport(t, master, fmt.Sprintf(`
transport "push" {
  server {
    address              = "127.0.0.1"
    port                 = %d
    tls_cert             = %q
    tls_key              = %q
    ca                   = %q
    allowed_clients_file = %q
    auto_accept          = false
  }
}
`, pushPort, filepath.Join(mdir, "ssl", "wigo.crt"), filepath.Join(mdir, "ssl", "wigo.key"),
		filepath.Join(mdir, "ssl", "ca"), allowedFile))

	leaf := testConfig(t)
	leaf.Hostname, leaf.Group = "push-leaf", "edge"
	leaf.PluginsDir = plugins
	ldir := t.TempDir()
	withTransport(t, leaf, fmt.Sprintf(`
transport "push" {
  client {
    address       = "127.0.0.1"
    port          = %d
    master_cert   = %q
    uuid_sig      = %q
    push_interval = 1
  }
}
`, pushPort, filepath.Join(ldir, "master.crt"), filepath.Join(ldir, "uuid.sig")))

	mr := startDaemon(t, master)
	lr := startDaemon(t, leaf) // stopped first: cleanups run last-in first-out
	uuid := lr.d.State().UUID()
	if uuid == "" {
		t.Fatal("the leaf daemon has no UUID")
	}
	return pushPair{master: mr, leaf: lr, uuid: uuid, allowedFile: allowedFile, mdir: mdir, ldir: ldir}
}

// Approve in the Authority view admits a real waiting push client. The
// operator's click on Approve moves the leaf to the allowed list (and the
// allowed-clients file), the leaf collects its signature at its next
// attempt, and its pushed probes show in the master's Hosts view.
func TestBrowserApprovePushClient(t *testing.T) {
	ctx := browser(t)
	start := time.Now()
	p := startPushPair(t, "")
	mr, uuid, allowedFile, mdir, ldir := p.master, p.uuid, p.allowedFile, p.mdir, p.ldir
	row := func(table string) string {
		return fmt.Sprintf(`document.querySelector('#auth-%s tr[data-uuid="%s"]')`, table, uuid)
	}

	// The leaf registers and waits; the view (which polls the authority
	// every 5 s) lists it under "Waiting for approval" with its hostname.
	run(t, ctx, chromedp.Navigate(mr.d.URL()+"/#/authority"))
	waitJS(t, ctx, 20*time.Second, row("waiting")+`?.querySelector("th").textContent === "push-leaf" &&
		`+row("waiting")+`.querySelector("button").textContent === "Approve" &&
		`+row("allowed")+` === null`)
	if b, err := os.ReadFile(allowedFile); err == nil && strings.Contains(string(b), uuid) {
		t.Fatalf("the allowed-clients file holds the leaf before approval:\n%s", b)
	}
	for _, f := range []string{"ssl/ca/ca.crt", "ssl/ca/ca.key", "ssl/wigo.crt", "ssl/wigo.key"} {
		if _, err := os.Stat(filepath.Join(mdir, f)); err != nil {
			t.Errorf("the master did not create %s on first start: %v", f, err)
		}
	}
	if _, ok := mr.d.State().FindHost("push-leaf"); ok {
		t.Fatal("the master knows the leaf host before approval")
	}
	screenshot(t, ctx, "17-authority-push-waiting")

	// Approve: the row moves to "Allowed" and the file holds the leaf.
	run(t, ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#auth-waiting tr[data-uuid="%s"] button`, uuid))))
	waitJS(t, ctx, 10*time.Second, row("allowed")+`?.querySelector("th").textContent === "push-leaf" &&
		`+row("waiting")+` === null &&
		document.querySelector('[role="alert"]').textContent.includes("Approved push-leaf")`)
	b, err := os.ReadFile(allowedFile)
	if err != nil || !strings.Contains(string(b), uuid+" push-leaf") {
		t.Fatalf("allowed-clients file after Approve: %v\n%s", err, b)
	}
	screenshot(t, ctx, "18-authority-push-approved")

	// The leaf collects its signature at its next attempt and pushes its
	// state: the master's Hosts view shows the leaf with its probes, live.
	run(t, ctx, chromedp.Navigate(mr.d.URL()+"/#/hosts"))
	waitJS(t, ctx, 20*time.Second, `document.querySelector('#conn[data-conn="live"]') !== null &&
		document.querySelector('li.host[data-host="ui-master"]') !== null &&
		document.querySelector('li.host[data-host="push-leaf"] li[data-probe="flip"]')?.textContent.includes("all good") === true &&
		document.querySelector('li.host[data-host="push-leaf"] li[data-probe="disks"]') !== null`)
	if fi, err := os.Stat(filepath.Join(ldir, "uuid.sig")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the leaf did not store its signature 0600: %v %v", fi, err)
	}
	screenshot(t, ctx, "19-hosts-push-leaf")
	t.Logf("push client approved and seen in the Hosts view %s after the daemons started", time.Since(start).Round(time.Millisecond))
}
