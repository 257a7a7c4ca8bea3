package main

import "testing"

// heredoc is a stub printing text, then exiting with code.
func heredoc(text string, code string) string {
	return "cat <<'EOF'\n" + text + "EOF\nexit " + code
}

func TestMailq(t *testing.T) {
	t.Parallel()
	postfix := "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n4F1B2C0A1B*    1234 Thu Dec  3 10:00:00  a@example.com\n                                         b@example.com\n\n-- 5 Kbytes in 30 Requests.\n"
	r := runFixture(t, "check_mailq", fixture{stubs: map[string]string{"mailq": heredoc(postfix, "0")}})
	r.want(t, 200, "30 messages in the mail queue (>= 25)")
	r = runFixture(t, "check_mailq", fixture{stubs: map[string]string{"mailq": heredoc("Mail queue is empty\n", "0")}})
	r.want(t, 100, "0 messages in the mail queue")
	exim := " 25m  2.9K 1t3x4Y-000Abc-Cd <a@example.com>\n          b@example.com\n\n 3h  1.1K 1t3x4Z-000Abd-Ce <>\n          c@example.com\n"
	r = runFixture(t, "check_mailq", fixture{config: `{"warning": 1, "critical": 2}`, stubs: map[string]string{"mailq": heredoc(exim, "0")}})
	r.want(t, 300, "2 messages in the mail queue (>= 2)")
	r = runFixture(t, "check_mailq", fixture{stubs: map[string]string{"mailq": heredoc("postqueue: fatal: Queue report unavailable - mail system is down\n", "69")}})
	r.want(t, 500, "mailq exited 69", "mail system is down")
	if r := runFixture(t, "check_mailq", fixture{}); r.code != exitRemove {
		t.Fatalf("no mailq: exit %d, want 13", r.code)
	}
}

func TestService(t *testing.T) {
	t.Parallel()
	systemctl := `case "$1" in
is-active) case "$2" in ssh.service|cron) echo active; exit 0;; *) echo failed; exit 3;; esac;;
list-units) cat <<'EOF'
● apache2.service loaded failed failed The Apache HTTP Server
● nginx.service   loaded failed failed A high performance web server
EOF
;;
esac`
	r := runFixture(t, "check_service", fixture{stubs: map[string]string{"systemctl": systemctl},
		config: `{"services": {"web": "nginx.service", "ssh": "ssh.service"}}`})
	// nginx is configured: judged CRIT once, not listed again as a failed unit.
	r.want(t, 300, "not active: web (failed)", "failed units: apache2.service")
	if r.Message != "not active: web (failed); failed units: apache2.service" {
		t.Fatalf("message %q", r.Message)
	}
	r = runFixture(t, "check_service", fixture{stubs: map[string]string{"systemctl": systemctl},
		config: `{"services": ["cron"], "ignoreFailed": ["apache2.service", "nginx.service"]}`})
	r.want(t, 100, "1 configured service active, no failed unit")
	r = runFixture(t, "check_service", fixture{stubs: map[string]string{"systemctl": systemctl}})
	r.want(t, 200, "failed units: apache2.service, nginx.service")
	if r := runFixture(t, "check_service", fixture{}); r.code != exitRemove {
		t.Fatalf("no systemd: exit %d, want 13", r.code)
	}
}

func TestSupervisord(t *testing.T) {
	t.Parallel()
	status := `celery:worker-0                RUNNING   pid 1234, uptime 3 days, 1:02:03
celery:worker-1                FATAL     Exited too quickly (process log may have details)
cron-like                      STOPPED   Dec 03 10:00 AM
web                            RUNNING   pid 1240, uptime 3 days, 1:02:00
`
	r := runFixture(t, "supervisord", fixture{stubs: map[string]string{"supervisorctl": heredoc(status, "3")}})
	r.want(t, 300, "celery:worker-1 FATAL", "cron-like STOPPED")
	if v := r.metricValue(t, "program", "web"); v != 1 {
		t.Fatalf("web metric %v", v)
	}
	r = runFixture(t, "supervisord", fixture{stubs: map[string]string{"supervisorctl": heredoc(status, "3")},
		config: `{"include": ["^celery"], "exclude": ["worker-1$"]}`})
	r.want(t, 100, "1 program RUNNING")
	r = runFixture(t, "supervisord", fixture{stubs: map[string]string{"supervisorctl": heredoc("unix:///var/run/supervisor.sock no such file\n", "7")}})
	r.want(t, 300, "supervisord not reachable: unix:///var/run/supervisor.sock no such file")
	if r := runFixture(t, "supervisord", fixture{}); r.code != exitRemove {
		t.Fatalf("no supervisorctl: exit %d, want 13", r.code)
	}
}

func TestNeedrestart(t *testing.T) {
	t.Parallel()
	out := `NEEDRESTART-VER: 3.6
NEEDRESTART-KCUR: 6.1.0-13-amd64
NEEDRESTART-KEXP: 6.1.0-18-amd64
NEEDRESTART-KSTA: 3
NEEDRESTART-SVC: ssh.service
NEEDRESTART-SVC: wigo.service
`
	r := runFixture(t, "needrestart", fixture{stubs: map[string]string{"needrestart": heredoc(out, "0")},
		config: `{"ignore": ["wigo.service"]}`})
	r.want(t, 200, "reboot needed: running kernel 6.1.0-13-amd64, 6.1.0-18-amd64 installed", "1 service to restart: ssh.service")
	current := "NEEDRESTART-VER: 3.6\nNEEDRESTART-KCUR: 6.1.0-18-amd64\nNEEDRESTART-KEXP: 6.1.0-18-amd64\nNEEDRESTART-KSTA: 1\nNEEDRESTART-SVC: cron.service\n"
	r = runFixture(t, "needrestart", fixture{stubs: map[string]string{"needrestart": heredoc(current, "0")}})
	r.want(t, 101, "1 service to restart: cron.service")
	r = runFixture(t, "needrestart", fixture{stubs: map[string]string{"needrestart": heredoc(current, "0")},
		config: `{"services_status": 100}`})
	r.want(t, 100)
	r = runFixture(t, "needrestart", fixture{stubs: map[string]string{"needrestart": "echo 'needrestart: must be root' >&2; exit 1"}})
	r.want(t, 500, "must be root")
	if r := runFixture(t, "needrestart", fixture{}); r.code != exitRemove {
		t.Fatalf("no needrestart: exit %d, want 13", r.code)
	}
}

func TestPackagesApt(t *testing.T) {
	t.Parallel()
	sim := `NOTE: This is only a simulation!
Reading package lists...
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst tzdata [2024a-0+deb12u1] (2025a-0+deb12u1 Debian:12.9/stable [all])
Inst vim [2:9.0.1378-2] (2:9.0.1378-2+deb12u1 Debian:12.9/stable [amd64])
Conf libssl3 (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
`
	stderr := "W: Unknown Multi-Arch type 'no' for package 'foo'\n"
	stub := "cat >&2 <<'EOF'\n" + stderr + "EOF\n" + heredoc(sim, "0")
	r := runFixture(t, "packages-apt", fixture{stubs: map[string]string{"apt-get": stub}})
	r.want(t, 200, "1 security update: libssl3", "2 other updates", "apt says: Unknown Multi-Arch type")
	r = runFixture(t, "packages-apt", fixture{stubs: map[string]string{"apt-get": stub},
		config: `{"lines_to_ignore": ["^Unknown Multi-Arch type 'no' for package '[\\w-]+'$"]}`})
	if r.want(t, 200, "1 security update: libssl3"); r.Detail["Warnings"] != nil {
		t.Fatalf("ignored line kept: %v", r.Detail["Warnings"])
	}
	r = runFixture(t, "packages-apt", fixture{stubs: map[string]string{"apt-get": heredoc("Reading package lists...\n0 upgraded, 0 newly installed.\n", "0")}})
	r.want(t, 100, "No pending update")
	r = runFixture(t, "packages-apt", fixture{stubs: map[string]string{"apt-get": heredoc("tzdata\n", "0")}, config: `{"lines_to_ignore": ["("]}`})
	r.want(t, 500, "lines_to_ignore[0]")
	if r := runFixture(t, "packages-apt", fixture{}); r.code != exitRemove {
		t.Fatalf("no apt-get: exit %d, want 13", r.code)
	}
}

func TestPackagesYum(t *testing.T) {
	t.Parallel()
	yum := `case "$4" in
--security) cat <<'EOF'
openssl-libs.x86_64        1:3.0.7-25.el9_3        baseos
EOF
exit 100;;
*) cat <<'EOF'

openssl-libs.x86_64        1:3.0.7-25.el9_3        baseos
tzdata.noarch              2024a-1.el9             baseos
Obsoleting Packages
grub2-tools.x86_64         1:2.06-70.el9           baseos
EOF
exit 100;;
esac`
	r := runFixture(t, "packages-yum", fixture{stubs: map[string]string{"yum": yum}})
	r.want(t, 200, "1 security update: openssl-libs.x86_64", "1 other update")
	r = runFixture(t, "packages-yum", fixture{stubs: map[string]string{"dnf": "exit 0"}})
	r.want(t, 100, "No pending update")
	r = runFixture(t, "packages-yum", fixture{stubs: map[string]string{"yum": heredoc("Error: Cache-only enabled but no cache for 'baseos'\n", "1")}})
	r.want(t, 500, "yum check-update exited 1", "no cache")
	if r := runFixture(t, "packages-yum", fixture{}); r.code != exitRemove {
		t.Fatalf("no yum: exit %d, want 13", r.code)
	}
}
