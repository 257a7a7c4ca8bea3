package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wigo-project/wigo/sdk"
)

// controlTimeout bounds one forwarded probe-control request.
const controlTimeout = 10 * time.Second

// maxControlAnswer bounds the remote's answer to one (a schedule of a few
// hundred probes is a few tens of KB).
const maxControlAnswer = 4 << 20

var _ sdk.Controller = (*puller)(nil)

// Control forwards probe control of a host learned from one of the
// remotes to that remote's own API (POST /api/hosts/HOST/probes/PROBE/run,
// disable, enable, interval; GET …/schedule) with the remote's control_token. The
// remote decides: it must set http.remote_control = true, and the token
// must be an operator's there; its refusal comes back with its sentence.
func (p *puller) Control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	p.mu.Lock()
	cfg, client := p.cfg, p.client
	p.mu.Unlock()
	if cfg == nil || client == nil {
		return nil, sdk.ControlErrorf(sdk.ControlNotMine, "the pull transport is not started")
	}
	var rm *remote
	for _, r := range cfg.remotes {
		if r.addr == req.Source {
			rm = r
		}
	}
	if rm == nil {
		return nil, sdk.ControlErrorf(sdk.ControlNotMine, "%s is not a remote of this pull transport", req.Source)
	}
	if rm.controlToken == "" {
		return nil, sdk.ControlErrorf(sdk.ControlRefused, "this master holds no control token for remote %s: set control_token_file in its remote block (an operator's token of the remote)", rm.label)
	}
	method, path, form, err := sdk.ControlRoute(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	}
	hr, err := http.NewRequestWithContext(ctx, method, rm.base+path, body)
	if err != nil {
		return nil, sdk.ControlErrorf(sdk.ControlInvalid, "probe control of %s: %v", rm.label, err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hr.Header.Set("Authorization", "Bearer "+rm.controlToken)
	// The remote's cross-site check wants it on a POST from a script.
	hr.Header.Set("X-Wigo-Request", "1")
	by := req.By
	if by == "" {
		by = "someone"
	}
	hr.Header.Set("X-Wigo-Forwarded-By", strings.Map(func(c rune) rune {
		if c < ' ' || c == 0x7f {
			return -1
		}
		return c
	}, by))
	resp, err := client.Do(hr)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, sdk.ControlErrorf(sdk.ControlTimeout, "remote %s did not answer within %v", rm.label, controlTimeout)
		}
		return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "remote %s cannot be reached: %v", rm.label, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxControlAnswer+1))
	switch {
	case err != nil:
		return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "remote %s: reading its answer: %v", rm.label, unwrapURL(err))
	case len(b) > maxControlAnswer:
		return nil, sdk.ControlErrorf(sdk.ControlFailed, "remote %s answered more than %d bytes", rm.label, maxControlAnswer)
	}
	return sdk.ControlAnswer(resp.StatusCode, b, fmt.Sprintf("its instance (%s) answered %d: ", rm.label, resp.StatusCode))
}

// unwrapURL drops net/http's "Get \"url\": " prefix, which repeats the
// address the message already names.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
