package main

import "github.com/wigo-project/wigo/sdk"

var _ sdk.CapabilityReporter = (*transport)(nil)

// Capabilities implements sdk.CapabilityReporter: the instance keeps a
// client authority only when it is configured with a server block, so the
// core looks for the push clients' authority there and nowhere else.
func (t *transport) Capabilities() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.cfg.Server) > 0 {
		return []string{sdk.CapAuthority}
	}
	return nil
}
