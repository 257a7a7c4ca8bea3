package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

// remoteFunc stands in for the daemon's transports.
type remoteFunc func(ctx context.Context, req sdk.ControlRequest) (json.RawMessage, error)

func (f remoteFunc) Control(ctx context.Context, req sdk.ControlRequest) (json.RawMessage, error) {
	return f(ctx, req)
}

// post makes a form POST from this machine.
func post(h http.Handler, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// Probe control of a remote host goes to the transports with the host's
// name, UUID and source, who asked, and the disabling's duration as such
// (the remote's clock counts it) or its end; the remote's answer is
// answered as it is, and each refusal with its status and the remote's
// sentence naming the host. A request forwarded by a master is refused
// unless this instance accepts them; without forwarding, a remote host's
// probes are a 501.
func TestRemoteProbeControl(t *testing.T) {
	st, _ := newFixtureState(t)
	var got []sdk.ControlRequest
	var answer json.RawMessage
	var fail error
	h := New(Options{State: st, Remote: remoteFunc(func(ctx context.Context, req sdk.ControlRequest) (json.RawMessage, error) {
		got = append(got, req)
		if _, ok := ctx.Deadline(); !ok {
			t.Error("forwarded without a deadline")
		}
		return answer, fail
	})})
	base := "/api/hosts/leaf-1/probes/load/"

	answer = json.RawMessage(`{"running":"load"}`)
	if w := post(h, base+"run", nil, nil); w.Code != http.StatusOK || w.Body.String() != "{\"running\":\"load\"}\n" {
		t.Errorf("run: %d %s", w.Code, w.Body)
	}
	if w := post(h, base+"disable", url.Values{"reason": {"disk swap"}, "for": {"1h"}}, nil); w.Code != http.StatusOK {
		t.Errorf("disable for 1h: %d %s", w.Code, w.Body)
	}
	if w := post(h, base+"disable", url.Values{"reason": {"disk swap"}, "until": {"2026-12-31T00:00:00Z"}}, nil); w.Code != http.StatusOK {
		t.Errorf("disable until: %d %s", w.Code, w.Body)
	}
	if w := post(h, base+"disable", url.Values{"for": {"1h"}}, nil); w.Code != http.StatusBadRequest {
		t.Errorf("disable without a reason: %d %s, want 400 before anything is forwarded", w.Code, w.Body)
	}
	if len(got) != 3 {
		t.Fatalf("forwarded %d requests, want 3: %+v", len(got), got)
	}
	if r := got[0]; r.Host != "leaf-1" || r.HostUUID != leafUUID || r.Source != "test" || r.Probe != "load" || r.Action != sdk.ControlRun || r.By != "local" {
		t.Errorf("run forwarded as %+v", r)
	}
	if r := got[1]; r.Action != sdk.ControlDisable || r.Reason != "disk swap" || r.For != time.Hour || !r.Until.IsZero() {
		t.Errorf("disable for 1h forwarded as %+v", r)
	}
	if r := got[2]; r.For != 0 || !r.Until.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("disable until forwarded as %+v", r)
	}

	answer = nil
	for code, status := range map[sdk.ControlCode]int{
		sdk.ControlRefused: 403, sdk.ControlNotFound: 404, sdk.ControlConflict: 409, sdk.ControlInvalid: 400,
		sdk.ControlUnreachable: 502, sdk.ControlNotMine: 502, sdk.ControlBusy: 503, sdk.ControlTimeout: 504, sdk.ControlUnsupported: 501,
	} {
		fail = sdk.ControlErrorf(code, "the remote's sentence")
		if msg := wantError(t, post(h, base+"enable", nil, nil), status); msg != `remote host "leaf-1": the remote's sentence` {
			t.Errorf("code %d: %q", code, msg)
		}
	}
	fail = context.DeadlineExceeded
	if msg := wantError(t, post(h, base+"run", nil, nil), http.StatusGatewayTimeout); !strings.Contains(msg, "did not answer within") {
		t.Errorf("a deadline: %q", msg)
	}
	fail = errors.New("connection reset")
	wantError(t, post(h, base+"run", nil, nil), http.StatusBadGateway)
	fail, answer = nil, json.RawMessage("not json")
	wantError(t, post(h, base+"run", nil, nil), http.StatusBadGateway)

	answer = json.RawMessage(`{"probes":[]}`)
	if w := serve(h, get("/api/hosts/leaf-1/schedule")); w.Code != http.StatusOK || got[len(got)-1].Action != sdk.ControlSchedule {
		t.Errorf("a remote host's schedule: %d %s", w.Code, w.Body)
	}

	fwd := http.Header{ForwardedHeader: {"olga"}}
	if msg := wantError(t, post(h, base+"run", nil, fwd), http.StatusForbidden); !strings.Contains(msg, "set remote_control = true in its http block") {
		t.Errorf("a forwarded request here: %q", msg)
	}
	accepting := New(Options{State: st, AcceptForwarded: true, Remote: remoteFunc(func(_ context.Context, req sdk.ControlRequest) (json.RawMessage, error) {
		got = append(got, req)
		return json.RawMessage(`{}`), nil
	})})
	if w := post(accepting, base+"run", nil, fwd); w.Code != http.StatusOK || got[len(got)-1].By != "olga through local" {
		t.Errorf("a forwarded request accepted: %d %s, by %q", w.Code, w.Body, got[len(got)-1].By)
	}

	plain := New(Options{State: st})
	wantError(t, post(plain, base+"run", nil, nil), http.StatusNotImplemented)
	wantError(t, post(plain, "/api/hosts/nowhere/probes/load/run", nil, nil), http.StatusNotFound)
}
