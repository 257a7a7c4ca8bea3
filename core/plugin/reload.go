package plugin

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/sdk/hclschema"
)

// Plan is a reload of the plugin blocks, prepared and not yet applied: the
// processes of the added and changed blocks are started and configured,
// nothing running is touched. Apply swaps them in; Abort kills them.
//
// A block is unchanged when it runs the same plugin and its body decodes,
// against the schema the running process declared, to the very config the
// process was given: moving it in the file, editing comments or the core's
// own attributes of a notify block (filters, routing) restarts nothing.
type Plan struct {
	m *Manager
	// Added, Changed, Removed and Unchanged name the blocks as
	// `kind "label"`, sorted.
	Added, Changed, Removed, Unchanged []string

	staged  []*staged
	removed []*instance
	done    bool
}

// staged is a new process waiting to replace old (nil for an added block).
type staged struct {
	in  *instance
	p   *proc
	old *instance
}

func blockName(b config.PluginBlock) string { return fmt.Sprintf("%s %q", b.Kind, b.Label) }

// Reload prepares the switch to blocks, the plugin blocks of a new
// configuration (notify blocks with the core's attributes taken out, as
// Start takes them). Every added or changed block is started and
// configured first, concurrently; if any fails (a binary missing, a block
// its schema refuses, a Configure refusal) the diagnostics say where, the
// new processes are killed, and the plan is nil: the running set is as it
// was. Transports are configured but started only by Apply, once the
// process they replace has stopped (it may hold their port).
func (m *Manager) Reload(blocks []config.PluginBlock) (*Plan, hcl.Diagnostics) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "The plugin manager is stopped"}}
	}
	current := make(map[string]*instance, len(m.instances))
	for k, in := range m.instances {
		current[k] = in
	}
	m.mu.Unlock()

	plan := &Plan{m: m}
	var mu sync.Mutex
	seen := map[string]bool{}
	var diags hcl.Diagnostics
	for _, b := range blocks {
		if k := key(b.Kind, b.Label); seen[k] {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf("Duplicate %s %q", b.Kind, b.Label),
				Detail: "A kind and label pair names one plugin instance.", Subject: b.DefRange.Ptr()})
		} else {
			seen[k] = true
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	diags = each(blocks, func(b config.PluginBlock) hcl.Diagnostics {
		old := current[key(b.Kind, b.Label)]
		same, diags := unchanged(old, b)
		if diags.HasErrors() {
			return diags
		}
		if same {
			mu.Lock()
			plan.Unchanged = append(plan.Unchanged, blockName(b))
			mu.Unlock()
			return diags
		}
		p, cfg, d := m.prepare(b)
		diags = append(diags, d...)
		if d.HasErrors() {
			return diags
		}
		in := newInstance(b)
		in.config = cfg
		ctx, cancel := contextStopping(m.stopping, nil)
		refused, err := m.setup(ctx, in, p)
		cancel()
		if err != nil {
			p.kill()
			if refused == nil {
				refused = hcl.Diagnostics{startDiag(b, err)}
			}
			return append(diags, refused...)
		}
		mu.Lock()
		plan.staged = append(plan.staged, &staged{in: in, p: p, old: old})
		if old == nil {
			plan.Added = append(plan.Added, blockName(b))
		} else {
			plan.Changed = append(plan.Changed, blockName(b))
		}
		mu.Unlock()
		return diags
	})
	if diags.HasErrors() {
		plan.Abort()
		return nil, diags
	}
	for k, in := range current {
		if !seen[k] {
			plan.removed = append(plan.removed, in)
			plan.Removed = append(plan.Removed, blockName(in.block))
		}
	}
	for _, l := range [][]string{plan.Added, plan.Changed, plan.Removed, plan.Unchanged} {
		sort.Strings(l)
	}
	return plan, diags
}

// unchanged reports whether b would run old's plugin with old's config. A
// body that no longer fits the running plugin's schema is an error here,
// at the operator's text.
func unchanged(old *instance, b config.PluginBlock) (bool, hcl.Diagnostics) {
	if old == nil {
		return false, nil
	}
	old.mu.Lock()
	p, running := old.proc, old.state == StateRunning
	old.mu.Unlock()
	if old.block.Plugin != b.Plugin {
		return false, nil
	}
	if !running || p == nil || old.config == nil {
		// Down (restarting, or refused by its schema): the same text is
		// the same block, left to its supervisor, so that one plugin down
		// does not stop every reload; a new text gets a fresh start.
		return old.block.Text == b.Text && old.block.BaseDir == b.BaseDir, nil
	}
	body := b.Body
	if body == nil {
		body = hcl.EmptyBody()
	}
	cfg, diags := hclschema.Decode(body, p.schema, b.DefRange)
	if diags.HasErrors() {
		return false, diags
	}
	return bytes.Equal(cfg, old.config), diags
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.staged) == 0 && len(p.removed) == 0 }

// Abort kills the processes the plan started; nothing running changed.
func (p *Plan) Abort() {
	if p == nil || p.done {
		return
	}
	p.done = true
	for _, s := range p.staged {
		s.p.kill()
	}
}

// Apply switches to the plan: removed instances are closed (they flush
// what they hold) and stopped, changed ones hand over to their new process
// (a call in flight on the old one ends first; the next goes to the new
// one), added ones run. A notifier or output is replaced before its old
// process is closed, so it is never absent; a transport's old process
// stops before the new one starts. A transport whose Start fails then is
// retried with backoff like a crashed plugin, and its diagnostic returned.
// ctx bounds the transports' Start.
func (p *Plan) Apply(ctx context.Context) hcl.Diagnostics {
	m := p.m
	m.reload.Lock()
	defer m.reload.Unlock()
	if p.done {
		return nil
	}
	p.done = true
	m.mu.Lock()
	stopped := m.stopped
	m.mu.Unlock()
	if stopped {
		for _, s := range p.staged {
			s.p.kill()
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "The plugin manager stopped before the reload was applied"}}
	}
	for _, in := range p.removed {
		m.mu.Lock()
		delete(m.instances, key(in.block.Kind, in.block.Label))
		m.mu.Unlock()
		m.retireInstance(in)
		m.opts.Logger.Info("plugin stopped: its block was removed", "kind", in.block.Kind, "instance", in.block.Label)
	}
	var (
		mu    sync.Mutex
		diags hcl.Diagnostics
		wg    sync.WaitGroup
	)
	for _, s := range p.staged {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.swap(ctx, s); err != nil {
				mu.Lock()
				diags = append(diags, startDiag(s.in.block, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return diags
}

// swap puts s's process in place of its old instance, if any.
func (m *Manager) swap(ctx context.Context, s *staged) error {
	b := s.in.block
	publish := func() {
		m.mu.Lock()
		m.instances[key(b.Kind, b.Label)] = s.in
		m.mu.Unlock()
	}
	if b.Kind != config.KindTransport {
		m.run(s.in, s.p)
		publish()
		if s.old != nil {
			m.retireInstance(s.old)
			m.opts.Logger.Info("plugin restarted with its changed block", "kind", b.Kind, "instance", b.Label, "pid", s.p.pid)
		}
		return nil
	}
	if s.old != nil {
		m.retireInstance(s.old)
	}
	err := m.startTransport(ctx, s.in, s.p)
	publish()
	if err != nil {
		s.p.kill()
		m.retry(s.in, err)
		return err
	}
	m.run(s.in, s.p)
	return nil
}

// retireInstance takes in out of service for good: its supervisor ends,
// the call in flight (if any) completes, later calls look up its
// successor, and its process is closed and killed.
func (m *Manager) retireInstance(in *instance) {
	close(in.quit)
	in.sup.Wait()
	in.calls.Lock()
	in.mu.Lock()
	p := in.proc
	in.proc, in.retired = nil, true
	in.state, in.since = StateFailed, time.Now()
	in.lastError = "removed or replaced by a reload"
	in.mu.Unlock()
	in.calls.Unlock()
	if p != nil {
		m.retire(in.block, p)
	}
}
