package api

import (
	"errors"
	"net/http"

	"github.com/wigo-project/wigo/core/state"
)

// removedHosts answers DELETE /api/hosts/:hostname: the names of the hosts
// forgotten, the named one first, then those learned through it.
type removedHosts struct {
	Removed []string `json:"Removed"`
}

// deleteHost answers DELETE /api/hosts/:hostname: an operator forgets a
// remote host (one that is DOWN for good, typically), with everything that
// was learned through it. The removal is logged (the log table and the
// daemon's log) with who asked. A host still reporting comes back with its
// next report: remove it from the configuration first.
func (s *server) deleteHost(r *http.Request) (any, error) {
	name := r.PathValue("hostname")
	by := r.RemoteAddr
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		by = u + " from " + r.RemoteAddr
	}
	gone, err := s.state.RemoveHost(name, by)
	switch {
	case errors.Is(err, state.ErrNoSuchHost):
		return nil, hostNotFound(name)
	case errors.Is(err, state.ErrLocalHost):
		return nil, errorf(http.StatusConflict, "host %q is this instance itself and cannot be removed", name)
	case err != nil:
		return nil, err
	}
	out := removedHosts{Removed: make([]string, 0, len(gone))}
	for _, h := range gone {
		out.Removed = append(out.Removed, h.Name)
		s.log.Info("host removed by an operator", "host", h.Name, "uuid", h.UUID, "by", by)
	}
	return out, nil
}
