package plugin

// pid returns the process id of a running notify instance, 0 if none.
func (m *Manager) pid(label string) int {
	m.mu.Lock()
	in := m.instances[key("notify", label)]
	m.mu.Unlock()
	if in == nil {
		return 0
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.proc == nil {
		return 0
	}
	if rc := in.proc.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}
