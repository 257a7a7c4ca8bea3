package main

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	register("check_http", checkHTTP)
	register("check_ntp", checkNTP)
	register("redis", redis)
	register("haproxy", haproxy)
}

// httpCheck is one configured URL.
type httpCheck struct {
	Label           string          `json:"name"`
	URL             string          `json:"url"`
	ExpectedCode    json.RawMessage `json:"expectedCode"`
	Timeout         float64         `json:"timeout"`
	Insecure        bool            `json:"insecure"`
	FollowRedirects bool            `json:"followRedirects"`
}

// decodeURLs reads "urls": {"label": "https://…" | {…}} (the original's
// form) or a list of URLs or objects (label = name or URL).
func decodeURLs(raw json.RawMessage) ([]httpCheck, error) {
	one := func(label string, v json.RawMessage) (httpCheck, error) {
		var c httpCheck
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			c.URL = s
		} else if err := json.Unmarshal(v, &c); err != nil {
			return c, fmt.Errorf("urls: an entry must be a URL or an object: %w", err)
		}
		if c.URL == "" {
			return c, errors.New(`urls: every URL entry needs a "url"`)
		}
		if label != "" {
			c.Label = label
		}
		if c.Label == "" {
			c.Label = c.URL
		}
		return c, nil
	}
	var out []httpCheck
	trimmed := strings.TrimSpace(string(raw))
	switch {
	case trimmed == "" || trimmed == "null":
	case strings.HasPrefix(trimmed, "{"):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("urls: %w", err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := one(k, m[k])
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	case strings.HasPrefix(trimmed, "["):
		var l []json.RawMessage
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("urls: %w", err)
		}
		for _, v := range l {
			c, err := one("", v)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	default:
		return nil, errors.New(`"urls" must be an object or a list`)
	}
	return out, nil
}

// checkHTTP fetches the configured URLs: one not answering the expected
// code (200 unless set) is CRIT. Redirects are not followed unless asked:
// a 301 to a login page is not "up".
func checkHTTP(e *env, r *result) error {
	cfg := struct {
		Timeout float64         `json:"timeout"`
		URLs    json.RawMessage `json:"urls"`
	}{Timeout: 5}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	checks, err := decodeURLs(cfg.URLs)
	if err != nil {
		return err
	}
	if len(checks) == 0 {
		r.Message = fmt.Sprintf("No URL configured to check (add \"urls\" to %s.conf)", e.name)
		return nil
	}
	detail := map[string]any{}
	var down []string
	for _, c := range checks {
		want := []int{200}
		if len(c.ExpectedCode) > 0 {
			var one int
			if json.Unmarshal(c.ExpectedCode, &one) == nil {
				want = []int{one}
			} else if err := json.Unmarshal(c.ExpectedCode, &want); err != nil {
				return fmt.Errorf("urls %s: expectedCode must be a code or a list of codes", c.Label)
			}
		}
		timeout := c.Timeout
		if timeout <= 0 {
			timeout = cfg.Timeout
		}
		code, ms, ferr := fetch(c, time.Duration(timeout*float64(time.Second)))
		if ferr == nil && !containsInt(want, code) {
			ferr = fmt.Errorf("HTTP %d, expected %s", code, joinInts(want, " or "))
		}
		d := map[string]any{"url": c.URL, "code": code, "response_time_ms": ms}
		if ferr != nil {
			d["error"] = ferr.Error()
			down = append(down, fmt.Sprintf("%s (%v)", c.Label, ferr))
		} else {
			r.metric(float64(ms), "url", c.Label)
		}
		detail[c.Label] = d
	}
	r.Detail = detail
	if len(down) > 0 {
		r.raise(statusCrit)
		r.Message = fmt.Sprintf("%d of %d URLs failing: %s", len(down), len(checks), strings.Join(down, ", "))
	} else {
		r.Message = fmt.Sprintf("All %d URLs answer as expected", len(checks))
	}
	return nil
}

func fetch(c httpCheck, timeout time.Duration) (int, int64, error) {
	client := &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:           http.ProxyFromEnvironment,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: c.Insecure}, //nolint:gosec // the operator's choice, per URL
		},
	}
	if !c.FollowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	defer client.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, c.URL, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("malformed URL: %w", err)
	}
	req.Header.Set("User-Agent", "wigo-check_http")
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, time.Since(t0).Milliseconds(), httpError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, time.Since(t0).Milliseconds(), nil
}

// httpError says what failed in words an operator reads at a glance.
func httpError(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused")
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("timed out")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return errors.New("cannot resolve host")
	}
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return errors.New("certificate not trusted")
	}
	return err
}

func containsInt(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func joinInts(l []int, sep string) string {
	s := make([]string, len(l))
	for i, v := range l {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, sep)
}

// ntpEpoch is 1900-01-01, where NTP timestamps start.
var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func ntpTime(b []byte) time.Time {
	sec, frac := binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8])
	return ntpEpoch.Add(time.Duration(sec)*time.Second + time.Duration(uint64(frac)*uint64(time.Second)>>32))
}

// sntpOffset asks server for the time (RFC 4330) and returns how far this
// clock is from it (positive: the server is ahead).
func sntpOffset(server string, timeout time.Duration) (time.Duration, int, error) {
	conn, err := net.DialTimeout("udp", server, timeout)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	req := make([]byte, 48)
	req[0] = 0x23 // LI 0, version 4, mode 3 (client)
	t1 := time.Now()
	sec := uint64(t1.Sub(ntpEpoch) / time.Second)
	frac := uint64(t1.Sub(ntpEpoch)%time.Second) << 32 / uint64(time.Second)
	binary.BigEndian.PutUint32(req[40:], uint32(sec))
	binary.BigEndian.PutUint32(req[44:], uint32(frac))
	if _, err := conn.Write(req); err != nil {
		return 0, 0, err
	}
	resp := make([]byte, 48)
	n, err := conn.Read(resp)
	t4 := time.Now()
	if err != nil {
		return 0, 0, err
	}
	if n < 48 || resp[0]&0x7 != 4 {
		return 0, 0, fmt.Errorf("not an NTP server reply (%d bytes, mode %d)", n, resp[0]&0x7)
	}
	stratum := int(resp[1])
	if stratum == 0 {
		return 0, 0, errors.New("server is not synchronised (kiss-o'-death)")
	}
	t2, t3 := ntpTime(resp[32:40]), ntpTime(resp[40:48])
	return (t2.Sub(t1) + t3.Sub(t4)) / 2, stratum, nil
}

// checkNTP judges this clock's offset: against ntp_server when set (the
// original's way, an SNTP query), else from the local chrony or ntpd.
// warning and critical are in seconds. No server, chrony or ntpd: exit 13.
func checkNTP(e *env, r *result) error {
	cfg := struct {
		Server   string  `json:"ntp_server"`
		Port     int     `json:"port"`
		Warning  float64 `json:"warning"`
		Critical float64 `json:"critical"`
		Timeout  float64 `json:"timeout"`
	}{Port: 123, Warning: 10, Critical: 300, Timeout: 5}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	var offset float64
	var source string
	synced := true
	switch {
	case cfg.Server != "":
		addr := net.JoinHostPort(cfg.Server, strconv.Itoa(cfg.Port))
		off, stratum, err := sntpOffset(addr, time.Duration(cfg.Timeout*float64(time.Second)))
		if err != nil {
			r.raise(statusCrit)
			r.Message = fmt.Sprintf("NTP server %s did not answer: %v", addr, err)
			return nil
		}
		offset, source = off.Seconds(), fmt.Sprintf("%s (stratum %d)", cfg.Server, stratum)
	default:
		res, err := e.command("chronyc", "-c", "tracking")
		switch {
		case err == nil && res.exitCode == 0:
			f := strings.Split(firstLine(res.stdout), ",")
			if len(f) < 14 {
				return fmt.Errorf("cannot parse chronyc tracking: %q", firstLine(res.stdout))
			}
			if offset, err = strconv.ParseFloat(f[4], 64); err != nil {
				return fmt.Errorf("cannot parse chronyc tracking offset %q", f[4])
			}
			source = "chrony, source " + f[1]
			synced = f[len(f)-1] != "Not synchronised" && f[2] != "0"
		case errors.Is(err, errNotInstalled):
			res, err = e.command("ntpq", "-pn")
			if errors.Is(err, errNotInstalled) {
				return absent("no ntp_server configured and neither chronyc nor ntpq installed")
			}
			if err != nil {
				return err
			}
			synced = false
			for _, l := range lines(res.stdout) {
				if !strings.HasPrefix(l, "*") {
					continue
				}
				f := strings.Fields(l[1:])
				if len(f) < 9 {
					continue
				}
				ms, perr := strconv.ParseFloat(f[8], 64)
				if perr != nil {
					return fmt.Errorf("cannot parse ntpq offset %q", f[8])
				}
				offset, source, synced = ms/1000, "ntpd, peer "+f[0], true
			}
			if source == "" {
				source = "ntpd"
			}
		case err != nil:
			return err
		default:
			return fmt.Errorf("chronyc tracking exited %d: %s", res.exitCode, firstLine(res.stderr, res.stdout))
		}
	}
	abs := math.Abs(offset)
	r.Value = offset
	r.metric(offset, "type", "offset_seconds")
	r.Detail = map[string]any{"OffsetSeconds": offset, "Source": source, "Synchronised": synced}
	r.Message = fmt.Sprintf("Clock offset %.6fs from %s", offset, source)
	switch {
	case abs >= cfg.Critical:
		r.raise(statusCrit)
		r.Message += fmt.Sprintf(" (>= %gs)", cfg.Critical)
	case abs >= cfg.Warning:
		r.raise(statusWarn)
		r.Message += fmt.Sprintf(" (>= %gs)", cfg.Warning)
	}
	if !synced {
		r.raise(statusWarn)
		r.Message += "; not synchronised"
	}
	return nil
}

// redisInfo sends INFO to a redis server and returns its fields.
func redisInfo(addr, password string, timeout time.Duration) (map[string]string, error) {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	if password != "" {
		if _, err := fmt.Fprintf(conn, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password); err != nil {
			return nil, err
		}
		l, err := br.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(l, "+") {
			return nil, fmt.Errorf("AUTH refused: %s", strings.TrimSpace(l))
		}
	}
	if _, err := io.WriteString(conn, "*1\r\n$4\r\nINFO\r\n"); err != nil {
		return nil, err
	}
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	head = strings.TrimSpace(head)
	if strings.HasPrefix(head, "-") {
		return nil, fmt.Errorf("redis said: %s", head[1:])
	}
	n, err := strconv.Atoi(strings.TrimPrefix(head, "$"))
	if !strings.HasPrefix(head, "$") || err != nil || n < 0 || n > 16<<20 {
		return nil, fmt.Errorf("unexpected INFO reply %q", head)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	info := map[string]string{}
	for _, l := range lines(body) {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			info[k] = v
		}
	}
	return info, nil
}

// redis asks each configured server (default 127.0.0.1:6379) for INFO and
// publishes the included fields as metrics. A server down is CRIT, except
// the default one: no redis on this host is exit 13.
func redis(e *env, r *result) error {
	cfg := struct {
		RedisToCheck []string `json:"redisToCheck"`
		Password     string   `json:"password"`
		Include      []string `json:"include"`
		Exclude      []string `json:"exclude"`
		Timeout      float64  `json:"timeout"`
	}{Include: []string{"used_memory", "mem_fragmentation_ratio", "total_connections_received",
		"total_commands_processed", "pubsub_channels", "connected_clients"}, Timeout: 3}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	targets := cfg.RedisToCheck
	explicit := len(targets) > 0
	if !explicit {
		targets = []string{"127.0.0.1:6379"}
	}
	detail := map[string]any{}
	var down, up []string
	for _, addr := range targets {
		info, err := redisInfo(addr, cfg.Password, time.Duration(cfg.Timeout*float64(time.Second)))
		if err != nil {
			if !explicit && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist)) {
				return absent("no redis on %s: %v", addr, err)
			}
			r.raise(statusCrit)
			down = append(down, fmt.Sprintf("%s (%v)", addr, err))
			detail[addr] = map[string]string{"error": err.Error()}
			continue
		}
		d := map[string]string{"redis_version": info["redis_version"], "role": info["role"]}
		for _, k := range cfg.Include {
			v, ok := info[k]
			if !ok || contains(cfg.Exclude, k) {
				continue
			}
			d[k] = v
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				r.metric(f, "instance", addr, "type", k)
			}
		}
		if info["loading"] == "1" {
			r.raise(statusWarn)
			down = append(down, addr+" is loading its dataset")
		}
		if info["role"] == "slave" && info["master_link_status"] != "" && info["master_link_status"] != "up" {
			r.raise(statusCrit)
			down = append(down, fmt.Sprintf("%s replica's link to its master is %s", addr, info["master_link_status"]))
		}
		detail[addr] = d
		up = append(up, fmt.Sprintf("%s (redis %s, %s)", addr, info["redis_version"], info["role"]))
	}
	r.Detail = detail
	if len(down) > 0 {
		r.Message = strings.Join(down, ", ")
	} else {
		r.Message = "Up: " + strings.Join(up, ", ")
	}
	return nil
}

// haproxySockets are where Debian and RHEL put the stats socket.
var haproxySockets = []string{"/run/haproxy/admin.sock", "/var/run/haproxy.sock", "/var/lib/haproxy/stats", "/run/haproxy.sock"}

// haproxy reads "show stat" from the stats socket: a backend down is CRIT,
// hostsDownCritCount servers down in one backend is CRIT and
// hostsDownWarnCount (when above 0) WARN. No socket: exit 13.
func haproxy(e *env, r *result) error {
	cfg := struct {
		Socket        string   `json:"unix_socket"`
		DownCritCount int      `json:"hostsDownCritCount"`
		DownWarnCount int      `json:"hostsDownWarnCount"`
		Include       []string `json:"include"`
		Exclude       []string `json:"exclude"`
	}{DownCritCount: 1}
	if err := e.loadConfig(&cfg); err != nil {
		return err
	}
	f, err := newFilter(cfg.Include, cfg.Exclude)
	if err != nil {
		return err
	}
	sock := cfg.Socket
	if sock == "" {
		for _, s := range haproxySockets {
			if _, err := os.Stat(e.path(s)); err == nil {
				sock = s
				break
			}
		}
		if sock == "" {
			return absent("no haproxy stats socket (%s)", strings.Join(haproxySockets, ", "))
		}
	}
	conn, err := net.DialTimeout("unix", e.path(sock), 5*time.Second)
	if err != nil {
		r.raise(statusCrit)
		r.Message = fmt.Sprintf("haproxy stats socket %s: %v", sock, err)
		return nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "show stat\n"); err != nil {
		return fmt.Errorf("haproxy stats socket %s: %w", sock, err)
	}
	data, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("haproxy stats socket %s: %w", sock, err)
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(data), "# ")))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil || len(rows) < 1 {
		return fmt.Errorf("cannot parse haproxy show stat: %v", err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, need := range []string{"pxname", "svname", "status"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("haproxy show stat lacks the %q column", need)
		}
	}
	get := func(row []string, k string) string {
		if i, ok := col[k]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	type backend struct {
		Status  string
		Servers map[string]string
		Down    int
	}
	backends := map[string]*backend{}
	for _, row := range rows[1:] {
		px, sv, st := get(row, "pxname"), get(row, "svname"), get(row, "status")
		if px == "" || !f.keep(px) || sv == "FRONTEND" {
			continue
		}
		b := backends[px]
		if b == nil {
			b = &backend{Servers: map[string]string{}}
			backends[px] = b
		}
		if sv == "BACKEND" {
			b.Status = st
			continue
		}
		b.Servers[sv] = st
		if strings.HasPrefix(st, "DOWN") {
			b.Down++
		}
	}
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	var issues []string
	for _, n := range names {
		b := backends[n]
		r.metric(float64(b.Down), "backend", n, "type", "servers_down")
		switch {
		case b.Status == "DOWN":
			r.raise(statusCrit)
			issues = append(issues, n+" is DOWN")
		case cfg.DownCritCount > 0 && b.Down >= cfg.DownCritCount:
			r.raise(statusCrit)
			issues = append(issues, fmt.Sprintf("%s: %d of %d servers down", n, b.Down, len(b.Servers)))
		case cfg.DownWarnCount > 0 && b.Down >= cfg.DownWarnCount:
			r.raise(statusWarn)
			issues = append(issues, fmt.Sprintf("%s: %d of %d servers down", n, b.Down, len(b.Servers)))
		}
	}
	r.Detail = backends
	if len(issues) > 0 {
		r.Message = strings.Join(issues, ", ")
	} else {
		r.Message = fmt.Sprintf("%d backend%s up", len(names), plural(len(names)))
	}
	return nil
}
