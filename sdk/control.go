package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// ControlAction is what a probe-control request asks.
type ControlAction int

// The probe-control actions.
const (
	// ControlRun runs the probe now.
	ControlRun ControlAction = iota + 1
	// ControlDisable stops running it for For, until Until, or (both zero)
	// until it is enabled.
	ControlDisable
	// ControlEnable ends a disabling and runs the probe at once.
	ControlEnable
	// ControlSchedule reads the schedule of the host's probes (Probe is
	// empty).
	ControlSchedule
	// ControlInterval overrides the probe's interval with Interval (zero:
	// clears the override), until cleared or the instance restarts.
	ControlInterval
)

// String is the action as the API's routes name it.
func (a ControlAction) String() string {
	switch a {
	case ControlRun:
		return "run"
	case ControlDisable:
		return "disable"
	case ControlEnable:
		return "enable"
	case ControlSchedule:
		return "schedule"
	case ControlInterval:
		return "interval"
	}
	return fmt.Sprintf("action %d", int(a))
}

// ControlRequest is one probe-control action on a probe of a host that an
// instance learned through a transport: the core hands it to the transport
// (Controller), which has the instance running the host carry it out.
type ControlRequest struct {
	// Host is the host's name as the asking instance knows it.
	Host string
	// HostUUID is its UUID; Source who reported it (the source the
	// transport gave Ingest: a pulled remote's address, a push client's
	// UUID), by which a transport knows the host is one of its own.
	HostUUID, Source string
	// Probe is the probe's name (empty for ControlSchedule).
	Probe  string
	Action ControlAction
	// Reason says why (ControlDisable).
	Reason string
	// For and Until bound a ControlDisable: at most one is set; neither
	// disables until enabled.
	For   time.Duration
	Until time.Time
	// Interval is a ControlInterval's new interval, in whole seconds;
	// zero clears the override.
	Interval time.Duration
	// By is who asked, for the log of the instance carrying it out.
	By string
}

// ControlCode classifies a probe-control refusal (ControlError).
type ControlCode int

// The refusals of probe control.
const (
	// ControlNotMine: the transport did not learn the request's source;
	// the core asks its other transports.
	ControlNotMine ControlCode = iota + 1
	// ControlRefused: the remote does not allow it (its configuration, or
	// the credentials it was sent).
	ControlRefused
	// ControlNotFound: no such host or probe there.
	ControlNotFound
	// ControlConflict: not in a state to do it (running, not disabled).
	ControlConflict
	// ControlInvalid: a bad parameter.
	ControlInvalid
	// ControlUnreachable: the remote could not be reached.
	ControlUnreachable
	// ControlTimeout: the remote did not answer in time.
	ControlTimeout
	// ControlBusy: too many actions wait for the remote already.
	ControlBusy
	// ControlUnsupported: the remote (or the transport) cannot do it.
	ControlUnsupported
	// ControlFailed: anything else.
	ControlFailed
)

// ControlError is a refusal of probe control: a code the core maps to an
// HTTP status, and one sentence for the operator.
type ControlError struct {
	Code    ControlCode
	Message string
}

// Error implements error.
func (e *ControlError) Error() string { return e.Message }

// ControlErrorf builds a *ControlError with a formatted message.
func ControlErrorf(code ControlCode, format string, args ...any) *ControlError {
	return &ControlError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Controller is implemented by a Transport that forwards probe control to
// the hosts it learned. Control returns the answer of the instance that
// carried it out (JSON, the shape of its API's answer to the same action),
// or a *ControlError; ControlNotMine when Source is not the transport's.
type Controller interface {
	Control(ctx context.Context, req ControlRequest) ([]byte, error)
}

// ControlHost is implemented by the Host a plugin receives in Start: it
// carries out probe control on this instance (a push client applying what
// its master asked) exactly as this instance's API would, with the same
// answers and refusals.
type ControlHost interface {
	Control(ctx context.Context, req ControlRequest) ([]byte, error)
}

var (
	_ ControlHost = (*hostClient)(nil)
	_ Controller  = (*TransportClient)(nil)
)

func controlToPB(r ControlRequest) *pb.ControlRequest {
	out := &pb.ControlRequest{Host: r.Host, HostUuid: r.HostUUID, Source: r.Source, Probe: r.Probe,
		Action: pb.ControlRequest_Action(r.Action), Reason: r.Reason, ForMs: r.For.Milliseconds(), By: r.By,
		IntervalMs: r.Interval.Milliseconds()}
	if !r.Until.IsZero() {
		out.UntilUnixMs = r.Until.UnixMilli()
	}
	return out
}

func controlFromPB(r *pb.ControlRequest) ControlRequest {
	out := ControlRequest{Host: r.GetHost(), HostUUID: r.GetHostUuid(), Source: r.GetSource(), Probe: r.GetProbe(),
		Action: ControlAction(r.GetAction()), Reason: r.GetReason(), For: time.Duration(r.GetForMs()) * time.Millisecond, By: r.GetBy(),
		Interval: time.Duration(r.GetIntervalMs()) * time.Millisecond}
	if ms := r.GetUntilUnixMs(); ms != 0 {
		out.Until = time.UnixMilli(ms)
	}
	return out
}

// controlReply is the response for Control's answer: the result, or the
// refusal's code and sentence (anything but a *ControlError is
// ControlFailed).
func controlReply(result []byte, err error) *pb.ControlResponse {
	if err == nil {
		return &pb.ControlResponse{ResultJson: result}
	}
	var ce *ControlError
	if !errors.As(err, &ce) {
		code := ControlFailed
		if errors.Is(err, context.DeadlineExceeded) {
			// The caller's deadline, carried over gRPC, ended the work
			// here: a timeout, whichever side's clock saw it first.
			code = ControlTimeout
		}
		ce = &ControlError{Code: code, Message: err.Error()}
	}
	return &pb.ControlResponse{Code: pb.ControlResponse_Code(ce.Code), Error: ce.Message}
}

// controlResult turns a response back into the result or *ControlError.
func controlResult(resp *pb.ControlResponse) ([]byte, error) {
	if resp.GetCode() == pb.ControlResponse_CODE_OK {
		return resp.GetResultJson(), nil
	}
	code := ControlCode(resp.GetCode())
	if code > ControlFailed || code < ControlNotMine {
		code = ControlFailed
	}
	msg := resp.GetError()
	if msg == "" {
		msg = "probe control failed without a reason"
	}
	return nil, &ControlError{Code: code, Message: msg}
}

// Control implements the Transport service's Control RPC.
func (s *transportServer) Control(ctx context.Context, req *pb.ControlRequest) (*pb.ControlResponse, error) {
	c, ok := s.impl.(Controller)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this transport does not forward probe control")
	}
	return controlReply(c.Control(ctx, controlFromPB(req))), nil
}

// Control asks the plugin to carry out req on a host it learned. A plugin
// that does not implement Controller (or predates it) answers
// ControlNotMine, so the core asks its other transports.
func (c *TransportClient) Control(ctx context.Context, req ControlRequest) ([]byte, error) {
	resp, err := c.c.Control(ctx, controlToPB(req))
	if status.Code(err) == codes.Unimplemented {
		return nil, ControlErrorf(ControlNotMine, "the transport does not forward probe control")
	}
	if status.Code(err) == codes.DeadlineExceeded {
		// The deadline, enforced by the other end too, ended the call.
		return nil, ControlErrorf(ControlTimeout, "no answer in time: %v", status.Convert(err).Message())
	}
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return controlResult(resp)
}

func (h *hostClient) Control(ctx context.Context, req ControlRequest) ([]byte, error) {
	resp, err := h.c.Control(ctx, controlToPB(req))
	if status.Code(err) == codes.Unimplemented {
		return nil, ControlErrorf(ControlUnsupported, "this instance's core does not carry out probe control from its transports")
	}
	if status.Code(err) == codes.DeadlineExceeded {
		// The deadline, enforced by the other end too, ended the call.
		return nil, ControlErrorf(ControlTimeout, "no answer in time: %v", status.Convert(err).Message())
	}
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return controlResult(resp)
}

func (s *hostServer) Control(ctx context.Context, req *pb.ControlRequest) (*pb.ControlResponse, error) {
	ch, ok := s.impl.(ControlHost)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "the core does not carry out probe control")
	}
	return controlReply(ch.Control(ctx, controlFromPB(req))), nil
}

// controlStatus is the HTTP status an instance's API answers for each
// refusal, and the refusal its status stands for (ControlCodeOf).
var controlStatus = []struct {
	code   ControlCode
	status int
}{
	// First the code each status reads back as.
	{ControlInvalid, http.StatusBadRequest},
	{ControlRefused, http.StatusForbidden},
	{ControlNotFound, http.StatusNotFound},
	{ControlConflict, http.StatusConflict},
	{ControlUnsupported, http.StatusNotImplemented},
	{ControlUnreachable, http.StatusBadGateway},
	{ControlBusy, http.StatusServiceUnavailable},
	{ControlTimeout, http.StatusGatewayTimeout},
	{ControlNotMine, http.StatusBadGateway},
	{ControlFailed, http.StatusBadGateway},
}

// ControlStatus is the HTTP status an API answers for a refusal of code.
func ControlStatus(code ControlCode) int {
	for _, c := range controlStatus {
		if c.code == code {
			return c.status
		}
	}
	return http.StatusBadGateway
}

// ControlCodeOf is the refusal an API's error status stands for: what a
// transport forwarding to another instance's API (or replaying into its
// own) returns for that answer. 401 (credentials refused) is ControlRefused.
func ControlCodeOf(status int) ControlCode {
	if status == http.StatusUnauthorized {
		return ControlRefused
	}
	for _, c := range controlStatus {
		if c.status == status {
			return c.code
		}
	}
	return ControlFailed
}

// ControlRoute is the route of req's action on an instance's HTTP API,
// below /api: its method, its path (the host and probe escaped) and, for a
// disabling, its form (reason; for, as a duration, or until), for an
// interval, its form (interval in seconds, or clear=true). A transport
// forwarding to a remote's API, and the core replaying a request it
// received into its own, build the request from it.
func ControlRoute(req ControlRequest) (method, path string, form url.Values, err error) {
	host := "/hosts/" + url.PathEscape(req.Host)
	form = url.Values{}
	switch req.Action {
	case ControlRun, ControlEnable:
	case ControlDisable:
		form.Set("reason", req.Reason)
		if req.For > 0 {
			form.Set("for", req.For.String())
		} else if !req.Until.IsZero() {
			form.Set("until", req.Until.UTC().Format(time.RFC3339))
		}
	case ControlInterval:
		if req.Interval > 0 {
			form.Set("interval", strconv.FormatInt(int64(req.Interval/time.Second), 10))
		} else {
			form.Set("clear", "true")
		}
	case ControlSchedule:
		return http.MethodGet, host + "/schedule", form, nil
	default:
		return "", "", nil, ControlErrorf(ControlInvalid, "unknown probe-control %s", req.Action)
	}
	return http.MethodPost, host + "/probes/" + url.PathEscape(req.Probe) + "/" + req.Action.String(), form, nil
}

// ControlAnswer reads an instance's API answer to a ControlRoute request:
// the body of a 200, or the refusal its status stands for (ControlCodeOf)
// with the sentence of its {"error": …}, after prefix.
func ControlAnswer(status int, body []byte, prefix string) ([]byte, error) {
	if status == http.StatusOK {
		if !json.Valid(body) {
			return nil, ControlErrorf(ControlFailed, "%sthe answer is not JSON", prefix)
		}
		return body, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := http.StatusText(status)
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	if status == http.StatusUnauthorized {
		msg = "it refused the credentials (" + msg + ")"
	}
	return nil, &ControlError{Code: ControlCodeOf(status), Message: prefix + msg}
}
