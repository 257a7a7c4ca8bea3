package main

import (
	"context"
	"errors"
	"time"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
	"github.com/wigo-project/wigo/sdk"
)

// Probe control over the push connection. The master sends a Control to a
// connected client whose hello allowed it and waits for its ControlResult;
// the client carries it out through its own core (as its API would) and
// answers on the same connection.
const (
	// maxPendingControls bounds the actions waiting for one client's
	// answer: more are refused (busy) at once rather than queued behind a
	// client that is slow to answer.
	maxPendingControls = 8
	// controlAckTimeout is how long the master waits for the answer
	// (tuning.controlTimeout).
	controlAckTimeout = 10 * time.Second
	// maxClientControls bounds the actions a client carries out at once,
	// as many as a master lets wait: more (left from an older session)
	// are answered busy.
	maxClientControls = maxPendingControls
)

var _ sdk.Controller = (*transport)(nil)

// Control implements sdk.Controller: the server role forwards to the push
// client that reported the host (its source). A transport without a
// server role, or a source that is no client of it, is not its to answer.
func (t *transport) Control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	t.mu.Lock()
	s := t.server
	t.mu.Unlock()
	if s == nil {
		return nil, sdk.ControlErrorf(sdk.ControlNotMine, "this push transport runs no server")
	}
	return s.control(ctx, req)
}

// control sends req to the session of the client req.Source and waits for
// its answer.
func (s *server) control(ctx context.Context, req sdk.ControlRequest) ([]byte, error) {
	uuid := req.Source
	s.mu.Lock()
	se := s.sessions[uuid]
	s.mu.Unlock()
	if se == nil {
		if s.auth.isAllowed(uuid) {
			return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "push client %s is not connected", uuid)
		}
		return nil, sdk.ControlErrorf(sdk.ControlNotMine, "%s is not a client of this push server", uuid)
	}
	if !se.allowControl {
		return nil, sdk.ControlErrorf(sdk.ControlRefused, "push client %s (%s) does not allow remote control: set allow_remote_control = true in its client block",
			se.hostname, uuid)
	}
	id, answer, ok := se.await()
	if !ok {
		return nil, sdk.ControlErrorf(sdk.ControlBusy, "%d actions already wait for push client %s (%s) to answer; try again shortly",
			maxPendingControls, se.hostname, uuid)
	}
	defer se.forget(id)
	m := &pushpb.Control{Id: id, Action: req.Action.String(), Host: req.Host, Probe: req.Probe, Reason: req.Reason,
		ForMs: req.For.Milliseconds(), By: req.By, IntervalMs: req.Interval.Milliseconds()}
	if !req.Until.IsZero() {
		m.UntilUnixMs = req.Until.UnixMilli()
	}
	if err := se.stream.Send(&pushpb.ServerMessage{Body: &pushpb.ServerMessage_Control{Control: m}}); err != nil {
		return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "the connection to push client %s (%s) broke: %v", se.hostname, uuid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.tune.controlTimeout)
	defer cancel()
	select {
	case r := <-answer:
		if r.GetCode() == 0 {
			return r.GetResultJson(), nil
		}
		code := sdk.ControlCode(r.GetCode())
		if code < sdk.ControlNotMine || code > sdk.ControlFailed || code == sdk.ControlNotMine {
			code = sdk.ControlFailed
		}
		return nil, &sdk.ControlError{Code: code, Message: "push client " + se.hostname + " answered: " + trunc(r.GetError())}
	case <-se.stream.ctx.Done():
		return nil, sdk.ControlErrorf(sdk.ControlUnreachable, "the session of push client %s (%s) ended before it answered", se.hostname, uuid)
	case <-ctx.Done():
		return nil, sdk.ControlErrorf(sdk.ControlTimeout, "push client %s (%s) did not answer within %v", se.hostname, uuid, s.tune.controlTimeout)
	}
}

// await registers an action waiting for the session's answer; false when
// maxPendingControls already wait.
func (se *session) await() (uint64, <-chan *pushpb.ControlResult, bool) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if len(se.pending) >= maxPendingControls {
		return 0, nil, false
	}
	if se.pending == nil {
		se.pending = map[uint64]chan *pushpb.ControlResult{}
	}
	se.nextID++
	ch := make(chan *pushpb.ControlResult, 1)
	se.pending[se.nextID] = ch
	return se.nextID, ch, true
}

func (se *session) forget(id uint64) {
	se.mu.Lock()
	delete(se.pending, id)
	se.mu.Unlock()
}

// answered hands r to the action waiting for it; an answer nobody waits
// for (it came after its timeout) is dropped.
func (se *session) answered(r *pushpb.ControlResult) {
	se.mu.Lock()
	ch := se.pending[r.GetId()]
	delete(se.pending, r.GetId())
	se.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// controlAction reads an action's name as the master sent it.
func controlAction(name string) sdk.ControlAction {
	for _, a := range []sdk.ControlAction{sdk.ControlRun, sdk.ControlDisable, sdk.ControlEnable, sdk.ControlSchedule, sdk.ControlInterval} {
		if a.String() == name {
			return a
		}
	}
	return 0
}

// apply carries out the master's Control on this client and returns the
// answer to send back.
func (c *client) apply(ctx context.Context, m *pushpb.Control) *pushpb.ControlResult {
	refuse := func(code sdk.ControlCode, msg string) *pushpb.ControlResult {
		return &pushpb.ControlResult{Id: m.GetId(), Code: uint32(code), Error: msg}
	}
	if !c.cfg.AllowRemoteControl {
		return refuse(sdk.ControlRefused, "this client does not allow remote control (allow_remote_control = false in its client block)")
	}
	action := controlAction(m.GetAction())
	if action == 0 {
		return refuse(sdk.ControlInvalid, "unknown probe-control action "+trunc(m.GetAction()))
	}
	ch, ok := c.host.(sdk.ControlHost)
	if !ok {
		return refuse(sdk.ControlUnsupported, "this client's core does not carry out probe control")
	}
	req := sdk.ControlRequest{Host: m.GetHost(), Probe: m.GetProbe(), Action: action, Reason: m.GetReason(),
		For: time.Duration(m.GetForMs()) * time.Millisecond, By: m.GetBy(), Interval: time.Duration(m.GetIntervalMs()) * time.Millisecond}
	if ms := m.GetUntilUnixMs(); ms != 0 {
		req.Until = time.UnixMilli(ms)
	}
	// Within the master's wait, so that it gets this answer rather than
	// none.
	limit := c.tune.controlTimeout * 3 / 4
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	out, err := ch.Control(ctx, req)
	var ce *sdk.ControlError
	if err != nil && (ctx.Err() != nil || errors.As(err, &ce) && ce.Code == sdk.ControlTimeout) {
		// The core's own end of the deadline may answer before this
		// side's timer fires.
		err = sdk.ControlErrorf(sdk.ControlTimeout, "its core did not carry it out within %v", limit)
	}
	if err != nil {
		c.log.Info("probe control from the master refused", "action", req.Action.String(), "host", req.Host, "probe", req.Probe, "by", req.By, "error", err)
		if !errors.As(err, &ce) {
			return refuse(sdk.ControlFailed, err.Error())
		}
		return refuse(ce.Code, ce.Message)
	}
	c.log.Info("probe control from the master", "action", req.Action.String(), "host", req.Host, "probe", req.Probe, "by", req.By)
	return &pushpb.ControlResult{Id: m.GetId(), ResultJson: out}
}

// isAllowed reports whether uuid is an allowed client.
func (a *authority) isAllowed(uuid string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.allowed[uuid]
	return ok
}
