package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk"
	"github.com/wigo-project/wigo/sdk/hclschema"
)

// Manager runs plugin instances. Its methods are safe for concurrent use.
type Manager struct {
	opts Options

	// reload serialises Reload's application with Stop.
	reload sync.Mutex

	mu        sync.Mutex
	instances map[string]*instance // by kind + "/" + label
	stopping  chan struct{}
	stopped   bool
	wg        sync.WaitGroup
}

// NewManager returns a Manager with no instances.
func NewManager(opts Options) *Manager {
	opts.defaults()
	return &Manager{opts: opts, instances: map[string]*instance{}, stopping: make(chan struct{})}
}

func key(kind, label string) string { return kind + "/" + label }

// kindClient is what the SDK clients of every kind have in common: their
// kind's Schema and Configure, and the Base service's Info and Close.
type kindClient interface {
	Schema(ctx context.Context) (sdk.PluginInfo, sdk.Schema, error)
	Configure(ctx context.Context, instance string, configJSON []byte) error
	Info(ctx context.Context) (sdk.PluginInfo, error)
	Close(ctx context.Context) error
}

// proc is one running plugin process.
type proc struct {
	client *goplugin.Client
	rpc    goplugin.ClientProtocol
	kc     kindClient // *sdk.NotifierClient, *sdk.OutputClient or *sdk.TransportClient
	info   sdk.PluginInfo
	schema sdk.Schema
	pid    int
}

// kill stops the process gracefully (go-plugin asks it to exit, then kills
// it after 2 s), but never waits more than a few seconds: go-plugin's
// shutdown request has no deadline and would wait forever on a hung plugin.
func (p *proc) kill() {
	if p == nil || p.client == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		p.client.Kill()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		p.forceKill()
		<-done
	}
}

// forceKill sends SIGKILL to the process, for a plugin known to be crashed
// or hung; go-plugin then notices the exit and cleans up.
func (p *proc) forceKill() {
	if p == nil || p.client == nil || p.client.Exited() {
		return
	}
	if rc := p.client.ReattachConfig(); rc != nil && rc.Pid > 0 {
		if proc, err := os.FindProcess(rc.Pid); err == nil {
			_ = proc.Kill()
		}
	}
}

// instance is one configured block and its current process.
type instance struct {
	block  config.PluginBlock
	config []byte // decoded config, resent after each restart

	calls sync.Mutex // one call at a time per plugin, as the SDK promises
	kick  chan struct{}
	// quit is closed when a reload removes or replaces the instance: its
	// supervisor returns; sup waits for that.
	quit chan struct{}
	sup  sync.WaitGroup

	mu sync.Mutex
	// retired: a reload replaced or removed the instance; calls that
	// reached it look the instance up again.
	retired   bool
	proc      *proc
	state     State
	restarts  int
	lastError string
	since     time.Time
	version   string
}

func newInstance(b config.PluginBlock) *instance {
	return &instance{block: b, kick: make(chan struct{}, 1), quit: make(chan struct{}), state: StateStarting, since: time.Now()}
}

func (in *instance) setState(s State, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.state, in.since = s, time.Now()
	if err != nil {
		in.lastError = err.Error()
	}
}

// pluginKind maps a config block kind to the SDK's plugin kind and its
// host-side go-plugin glue.
func pluginKind(blockKind string) (string, goplugin.Plugin, error) {
	switch blockKind {
	case config.KindNotify:
		return sdk.KindNotifier, &sdk.NotifierPlugin{}, nil
	case config.KindOutput:
		return sdk.KindOutput, &sdk.OutputPlugin{}, nil
	case config.KindTransport:
		return sdk.KindTransport, &sdk.TransportPlugin{}, nil
	}
	return "", nil, fmt.Errorf("unknown block kind %q", blockKind)
}

// launch starts the block's binary and completes the handshake. Errors say
// what is wrong with the binary, not where it was configured: callers add
// the block's position.
func (m *Manager) launch(b config.PluginBlock) (*proc, error) {
	kind, glue, err := pluginKind(b.Kind)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(m.opts.Dir, b.Plugin)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("plugin binary %s does not exist: install it in plugins_dir, or set plugin to the binary's name", path)
	case err != nil:
		return nil, fmt.Errorf("plugin binary: %w", err)
	case st.IsDir():
		return nil, fmt.Errorf("plugin binary %s is a directory", path)
	case st.Mode()&0o111 == 0:
		return nil, fmt.Errorf("plugin binary %s is not executable", path)
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          goplugin.PluginSet{kind: glue},
		Cmd:              pluginCommand(path),
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     m.opts.StartTimeout,
		// The plugin's JSON log lines come back through this logger, so
		// they read "notify.ops: ..." in the core's log.
		Logger: m.opts.Logger.Named(b.Kind + "." + b.Label),
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s did not complete the Wigo plugin handshake: %w", path, m.handshakeError(err))
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s does not serve a %s: %w", path, kind, err)
	}
	kc, ok := raw.(kindClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: unexpected client type %T", path, raw)
	}
	p := &proc{client: client, rpc: rpc, kc: kc}
	if rc := client.ReattachConfig(); rc != nil {
		p.pid = rc.Pid
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
	defer cancel()
	p.info, p.schema, err = kc.Schema(ctx)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: %w", path, err)
	}
	return p, nil
}

// handshakeError turns go-plugin's multi-line start errors into one line
// that says what happened, for the log and for `wigo -check`.
func (m *Manager) handshakeError(err error) error {
	msg := err.Error()
	const unrecognized = "Unrecognized remote plugin message: "
	if i := strings.Index(msg, unrecognized); i >= 0 {
		line, _, _ := strings.Cut(msg[i+len(unrecognized):], "\n")
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "Failed to read any lines") {
			return errors.New("the process exited without printing the handshake line; is it a Wigo plugin?")
		}
		if len(line) > 100 {
			line = line[:100] + "..."
		}
		return fmt.Errorf("it printed %q instead of the handshake line; is it a Wigo plugin, built for this machine?", line)
	}
	if strings.Contains(msg, "timeout while waiting for plugin to start") {
		return fmt.Errorf("no handshake within %v; the process was killed", m.opts.StartTimeout)
	}
	return err
}

func startDiag(b config.PluginBlock, err error) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Cannot start %s %q", b.Kind, b.Label),
		Detail:   err.Error() + " (the other plugins keep running)",
		Subject:  b.PluginRange.Ptr(),
	}
}

// prepare launches the block's plugin and decodes the block against its
// schema. On success the caller owns the returned process.
func (m *Manager) prepare(b config.PluginBlock) (*proc, []byte, hcl.Diagnostics) {
	p, err := m.launch(b)
	if err != nil {
		return nil, nil, hcl.Diagnostics{startDiag(b, err)}
	}
	cfg, diags := m.decode(p, b)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return p, cfg, diags
}

// decode decodes b's body against the schema p declared, killing p when the
// block does not fit it.
func (m *Manager) decode(p *proc, b config.PluginBlock) ([]byte, hcl.Diagnostics) {
	body := b.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	cfg, diags := hclschema.Decode(body, p.schema, b.DefRange)
	if diags.HasErrors() {
		p.kill()
		return nil, diags
	}
	return cfg, diags
}

// each runs f for every block concurrently (a hanging plugin costs one
// StartTimeout, not one per block) and returns the diagnostics in block order.
func each(blocks []config.PluginBlock, f func(config.PluginBlock) hcl.Diagnostics) hcl.Diagnostics {
	out := make([]hcl.Diagnostics, len(blocks))
	var wg sync.WaitGroup
	for i, b := range blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = f(b)
		}()
	}
	wg.Wait()
	var diags hcl.Diagnostics
	for _, d := range out {
		diags = append(diags, d...)
	}
	return diags
}

// Check starts each block's plugin just long enough to fetch its schema,
// decode the block against it and have the plugin's Configure validate the
// result, then stops it: what `wigo -check` runs. Diagnostics carry the
// operator's file, line and column. Transports are configured but never
// started, so nothing is sent anywhere.
func (m *Manager) Check(blocks []config.PluginBlock) hcl.Diagnostics {
	return each(blocks, func(b config.PluginBlock) hcl.Diagnostics {
		p, cfg, diags := m.prepare(b)
		if diags.HasErrors() {
			return diags
		}
		defer p.kill()
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.CallTimeout)
		defer cancel()
		return append(diags, configureDiags(b, p.schema, p.kc.Configure(ctx, b.Label, cfg))...)
	})
}

// configureDiags is what a plugin's Configure said about b, at the
// operator's text: a structured diagnostic at the attribute it names, a
// plain error (a plugin that sends only text) at the block header. Nil
// when it said nothing.
func configureDiags(b config.PluginBlock, s sdk.Schema, err error) hcl.Diagnostics {
	if err == nil {
		return nil
	}
	prefix := fmt.Sprintf("%s %q", b.Kind, b.Label)
	var remote *sdk.RemoteError
	if !errors.As(err, &remote) || len(remote.Diagnostics) == 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  prefix + " rejected its configuration",
			Detail:   err.Error(),
			Subject:  b.DefRange.Ptr(),
		}}
	}
	body := b.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	diags := hclschema.Diagnostics(body, s, remote.Diagnostics, b.DefRange)
	for _, d := range diags {
		if d.Summary == "" {
			d.Summary = "rejected its configuration"
		}
		d.Summary = prefix + ": " + d.Summary
	}
	return diags
}

// Start starts and configures one process per block. A block that fails
// (missing binary, not a plugin, handshake timeout, config error, Configure
// refused) yields diagnostics and a failed instance in Health; the others
// run regardless, so the daemon logs the diagnostics and carries on.
func (m *Manager) Start(ctx context.Context, blocks []config.PluginBlock) hcl.Diagnostics {
	return each(blocks, func(b config.PluginBlock) hcl.Diagnostics {
		in := newInstance(b)
		m.mu.Lock()
		if m.stopped {
			m.mu.Unlock()
			return hcl.Diagnostics{startDiag(b, errors.New("the plugin manager is stopped"))}
		}
		if _, dup := m.instances[key(b.Kind, b.Label)]; dup {
			m.mu.Unlock()
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s %q", b.Kind, b.Label),
				Detail:   "This instance is already running; a kind and label pair names one plugin instance.",
				Subject:  b.DefRange.Ptr(),
			}}
		}
		m.instances[key(b.Kind, b.Label)] = in
		m.mu.Unlock()

		// A process that does not start, or a Configure that fails (a port
		// in use, a server not there yet), is retried with backoff like a
		// crash; only a block its schema refuses waits for a fix.
		p, err := m.launch(b)
		if err != nil {
			m.retry(in, err)
			return hcl.Diagnostics{startDiag(b, err)}
		}
		cfg, diags := m.decode(p, b)
		if diags.HasErrors() {
			in.setState(StateFailed, errors.New(strings.TrimSpace(config.FormatDiagnostics(diags))))
			return diags
		}
		in.config = cfg
		if refused, err := m.configure(ctx, in, p); err != nil {
			p.kill()
			m.retry(in, err)
			if refused == nil {
				refused = hcl.Diagnostics{startDiag(b, err)}
			}
			return append(diags, refused...)
		}
		m.run(in, p)
		return diags
	})
}

// configure configures p with in's config and starts a transport. When the
// plugin refused the config, diags say where; warnings it sent about an
// accepted one are logged.
func (m *Manager) configure(ctx context.Context, in *instance, p *proc) (hcl.Diagnostics, error) {
	if diags, err := m.setup(ctx, in, p); err != nil {
		return diags, err
	}
	return nil, m.startTransport(ctx, in, p)
}

// setup sends p in's config and asks what it declares as configured.
func (m *Manager) setup(ctx context.Context, in *instance, p *proc) (hcl.Diagnostics, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	diags := configureDiags(in.block, p.schema, p.kc.Configure(ctx, in.block.Label, in.config))
	if diags.HasErrors() {
		return diags, errors.New(strings.TrimSpace(config.FormatDiagnostics(diags)))
	}
	for _, line := range strings.Split(strings.TrimSpace(config.FormatDiagnostics(diags)), "\n") {
		if line != "" {
			m.opts.Logger.Warn("plugin accepted its configuration with a warning", "kind", in.block.Kind, "instance", in.block.Label, "warning", line)
		}
	}
	// What it declares as configured; a plugin without the Base service
	// keeps the Schema's info, without capabilities.
	switch info, err := p.kc.Info(ctx); {
	case err == nil:
		p.info.Capabilities = info.Capabilities
	case !errors.Is(err, sdk.ErrNoBase):
		return nil, fmt.Errorf("info of %s %q: %w", in.block.Kind, in.block.Label, err)
	}
	return nil, nil
}

// startTransport starts p's work when it is a transport, serving it the
// core's host service.
func (m *Manager) startTransport(ctx context.Context, in *instance, p *proc) error {
	tc, ok := p.kc.(*sdk.TransportClient)
	if !ok {
		return nil
	}
	if m.opts.Host == nil {
		return fmt.Errorf("start %s %q: the daemon gave the plugin manager no host service", in.block.Kind, in.block.Label)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.CallTimeout)
	defer cancel()
	if err := tc.Start(ctx, m.opts.Host); err != nil {
		return fmt.Errorf("start %s %q: %w", in.block.Kind, in.block.Label, err)
	}
	return nil
}

// run marks in as running on p and starts its supervisor.
func (m *Manager) run(in *instance, p *proc) {
	m.mu.Lock()
	defer m.mu.Unlock() // Stop must not start waiting before wg.Add
	if m.stopped {
		p.kill()
		in.setState(StateFailed, errors.New("the plugin manager stopped during start-up"))
		return
	}
	in.mu.Lock()
	in.proc, in.state, in.since, in.version = p, StateRunning, time.Now(), p.info.Version
	in.mu.Unlock()
	m.opts.Logger.Info("plugin started", "kind", in.block.Kind, "instance", in.block.Label,
		"plugin", in.block.Plugin, "version", p.info.Version, "pid", p.pid)
	m.supervised(in)
	m.running(in)
}

// supervised starts in's supervisor; m.mu is held.
func (m *Manager) supervised(in *instance) {
	m.wg.Add(1)
	in.sup.Add(1)
	go m.supervise(in)
}

// retry hands an instance whose first start failed to its supervisor, which
// brings it up with backoff as after a crash.
func (m *Manager) retry(in *instance, cause error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		in.setState(StateFailed, cause)
		return
	}
	in.setState(StateRestarting, cause)
	m.supervised(in)
	select {
	case in.kick <- struct{}{}: // look now, not at the next health tick
	default:
	}
}

// running tells OnRunning that in is ready for calls.
func (m *Manager) running(in *instance) {
	if m.opts.OnRunning != nil {
		go m.opts.OnRunning(in.block.Kind, in.block.Label)
	}
}

// Notify sends n to the notify instance named instance. A *sdk.RemoteError
// (errors.As) is the plugin's own refusal; ErrUnavailable means it could not
// be reached; ErrUnknownInstance that it was never started.
func (m *Manager) Notify(ctx context.Context, instance string, n *sdk.Notification) error {
	return m.call(ctx, config.KindNotify, instance, func(ctx context.Context, kc kindClient) error {
		return kc.(*sdk.NotifierClient).Notify(ctx, n)
	})
}

// NotifyJSON is Notify for a notification already encoded as JSON (as the
// outbox stores it); the bytes reach the plugin unchanged.
func (m *Manager) NotifyJSON(ctx context.Context, instance string, notification []byte) error {
	return m.call(ctx, config.KindNotify, instance, func(ctx context.Context, kc kindClient) error {
		return kc.(*sdk.NotifierClient).NotifyJSON(ctx, notification)
	})
}

// NotifyBatchJSON sends notifications (JSON, as the outbox stores them)
// to the notify instance in one call when its plugin declares
// sdk.CapBatchNotify, else one NotifyJSON after the other within the same
// turn. It returns one error per notification (wrapping the plugin's
// *sdk.RemoteError, or nil), or, for the call as a whole, the errors of
// Notify (ErrUnavailable, ErrUnknownInstance). In the one-by-one case a
// notification the plugin could not be reached for ends the call there:
// the call error then covers the rest.
func (m *Manager) NotifyBatchJSON(ctx context.Context, instance string, notifications [][]byte) ([]error, error) {
	errs := make([]error, len(notifications))
	done := 0
	err := m.call(ctx, config.KindNotify, instance, func(ctx context.Context, kc kindClient) error {
		nc := kc.(*sdk.NotifierClient)
		if m.Batches(instance) {
			res, err := nc.NotifyBatchJSON(ctx, notifications)
			if err != nil {
				return err
			}
			copy(errs, res)
			done = len(notifications)
			return nil
		}
		for i, n := range notifications {
			err := nc.NotifyJSON(ctx, n)
			var remote *sdk.RemoteError
			if err != nil && !errors.As(err, &remote) {
				return err
			}
			errs[i], done = err, i+1
		}
		return nil
	})
	for i := range errs[:done] {
		if errs[i] != nil {
			errs[i] = fmt.Errorf("%s %q: %w", config.KindNotify, instance, errs[i])
		}
	}
	if err != nil {
		if done == 0 {
			return nil, err
		}
		errs[done] = err // the one the plugin went away in
		for i := done + 1; i < len(errs); i++ {
			errs[i] = fmt.Errorf("%s %q: %w: not sent, the plugin went away earlier in the batch", config.KindNotify, instance, ErrUnavailable)
		}
	}
	return errs, nil
}

// Batches reports whether the running plugin of the notify instance
// declares sdk.CapBatchNotify: NotifyBatchJSON then takes one call.
func (m *Manager) Batches(instance string) bool {
	m.mu.Lock()
	in := m.instances[key(config.KindNotify, instance)]
	m.mu.Unlock()
	if in == nil {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.proc != nil && in.proc.info.Has(sdk.CapBatchNotify)
}

// Write sends a batch of metrics to the output instance named instance,
// with the same errors as Notify.
func (m *Manager) Write(ctx context.Context, instance string, metrics []sdk.Metric) error {
	return m.call(ctx, config.KindOutput, instance, func(ctx context.Context, kc kindClient) error {
		return kc.(*sdk.OutputClient).Write(ctx, metrics)
	})
}

// call runs f on the running process of the instance, one call at a time.
func (m *Manager) call(ctx context.Context, kind, label string, f func(context.Context, kindClient) error) error {
	return m.callOn(ctx, kind, label, true, f)
}

// callOn is call; with serial false, f runs alongside the instance's other
// calls (a transport's probe control, which waits for a remote's answer,
// must not hold up the authority's calls or the control of other hosts).
func (m *Manager) callOn(ctx context.Context, kind, label string, serial bool, f func(context.Context, kindClient) error) error {
	var in *instance
	for {
		m.mu.Lock()
		in = m.instances[key(kind, label)]
		m.mu.Unlock()
		if in == nil {
			return fmt.Errorf("%s %q: %w", kind, label, ErrUnknownInstance)
		}
		if serial {
			in.calls.Lock()
		}
		in.mu.Lock()
		retired := in.retired
		in.mu.Unlock()
		if !retired {
			break
		}
		// A reload replaced it while this call waited for its turn: the
		// map holds its successor by now, or nothing if it was removed.
		if serial {
			in.calls.Unlock()
		}
	}
	if serial {
		defer in.calls.Unlock()
	}
	in.mu.Lock()
	p, state := in.proc, in.state
	in.mu.Unlock()
	if state != StateRunning || p == nil {
		if state == StateRunning {
			state = "stopped" // Stop has run
		}
		return fmt.Errorf("%s %q is %s: %w", kind, label, state, ErrUnavailable)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, m.opts.CallTimeout)
		defer cancel()
	}
	err := f(ctx, p.kc)
	var remote *sdk.RemoteError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &remote):
		return fmt.Errorf("%s %q: %w", kind, label, err)
	case ctx.Err() != nil:
		// The caller's deadline: the plugin may be slow rather than dead;
		// the health check decides.
		return fmt.Errorf("%s %q: %w: %w", kind, label, ErrUnavailable, ctx.Err())
	}
	// The connection broke: have the supervisor look now rather than at
	// its next tick.
	select {
	case in.kick <- struct{}{}:
	default:
	}
	return fmt.Errorf("%s %q: %w: %w: %v", kind, label, ErrUnavailable, ErrBroken, err)
}

// Capable returns the labels of the running instances of kind (a block
// kind: notify, output, transport) that declare capability c as
// configured, sorted. The core finds what a plugin can do this way, never
// by its name.
func (m *Manager) Capable(kind, c string) []string {
	m.mu.Lock()
	list := make([]*instance, 0, len(m.instances))
	for _, in := range m.instances {
		if in.block.Kind == kind {
			list = append(list, in)
		}
	}
	m.mu.Unlock()
	var out []string
	for _, in := range list {
		in.mu.Lock()
		if in.proc != nil && in.state == StateRunning && in.proc.info.Has(c) {
			out = append(out, in.block.Label)
		}
		in.mu.Unlock()
	}
	sort.Strings(out)
	return out
}

// Pending reports whether an instance of kind is starting or restarting:
// what it will declare is not known yet.
func (m *Manager) Pending(kind string) bool {
	for _, h := range m.Health() {
		if h.Kind == kind && (h.State == StateStarting || h.State == StateRestarting) {
			return true
		}
	}
	return false
}

// Health returns the state of every instance, sorted by kind and name.
func (m *Manager) Health() []InstanceHealth {
	m.mu.Lock()
	list := make([]*instance, 0, len(m.instances))
	for _, in := range m.instances {
		list = append(list, in)
	}
	m.mu.Unlock()
	out := make([]InstanceHealth, 0, len(list))
	for _, in := range list {
		in.mu.Lock()
		out = append(out, InstanceHealth{
			Instance: in.block.Label, Plugin: in.block.Plugin, Kind: in.block.Kind, Version: in.version,
			State: in.state, Restarts: in.restarts, LastError: in.lastError, Since: in.since,
		})
		if in.proc != nil {
			out[len(out)-1].Capabilities = in.proc.info.Capabilities
			out[len(out)-1].Pid = in.proc.pid
		}
		in.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Instance < out[j].Instance
	})
	return out
}

// Stop stops the supervisors and kills every plugin process (gracefully
// first: go-plugin asks the plugin to exit and kills it after 2 s). It is
// idempotent; the Manager cannot be started again.
func (m *Manager) Stop() {
	m.reload.Lock()
	defer m.reload.Unlock()
	m.mu.Lock()
	if !m.stopped {
		m.stopped = true
		close(m.stopping)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.mu.Lock()
	list := make([]*instance, 0, len(m.instances))
	for _, in := range m.instances {
		list = append(list, in)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, in := range list {
		in.mu.Lock()
		p := in.proc
		in.proc = nil
		in.mu.Unlock()
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.retire(in.block, p)
		}()
	}
	wg.Wait()
}

// retire ends p, the process of block b, which no call uses any more: a
// transport stops its work (and says goodbye to its peers), then the
// plugin flushes what it holds within CloseTimeout, then the process is
// killed.
func (m *Manager) retire(b config.PluginBlock, p *proc) {
	log := m.opts.Logger.With("kind", b.Kind, "instance", b.Label)
	if tc, ok := p.kc.(*sdk.TransportClient); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := tc.Stop(ctx); err != nil {
			log.Warn("transport did not stop cleanly", "error", err)
		}
		cancel()
	}
	if !p.client.Exited() {
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.CloseTimeout)
		err := p.kc.Close(ctx)
		cancel()
		var unflushed *sdk.UnflushedError
		switch {
		case errors.As(err, &unflushed):
			log.Warn("plugin stopped with data it could not flush", "unflushed", unflushed.N, "within", m.opts.CloseTimeout, "error", unflushed.Err)
		case err != nil:
			log.Warn("plugin did not close cleanly", "error", err)
		}
	}
	p.kill()
}
