package api

import (
	"net/http"

	"github.com/wigo-project/wigo/core/model"
	"github.com/wigo-project/wigo/core/state"
)

// Handlers of the routes answered from the in-memory state. Each returns the
// value to encode; documents are shared, immutable snapshots (see
// core/state), so they are encoded without copying.

// getDocument answers GET /api: the whole state in the original's shape,
// which pull masters decode.
func (s *server) getDocument(*http.Request) (any, error) {
	return s.state.Document(), nil
}

// getStatus answers the global status as a bare number, as the original
// does (scripts compare it with 100).
func (s *server) getStatus(*http.Request) (any, error) {
	return s.state.GlobalStatus(), nil
}

func (s *server) getGroups(*http.Request) (any, error) {
	return nonNil(s.state.Groups()), nil
}

func (s *server) getGroup(r *http.Request) (any, error) {
	name := r.PathValue("group")
	g, ok := s.state.Group(name)
	if !ok {
		return nil, groupNotFound(name)
	}
	return g, nil
}

// getHosts lists host names, the local host first, like the original.
func (s *server) getHosts(*http.Request) (any, error) {
	return nonNil(s.state.Hostnames()), nil
}

func (s *server) getHost(r *http.Request) (any, error) {
	name := r.PathValue("hostname")
	doc, ok := s.state.HostDocument(name)
	if !ok {
		return nil, hostNotFound(name)
	}
	return doc, nil
}

// getHostStatus answers the host's global status: the worst of the host and
// what was learned through it, as the original's remote document carries.
func (s *server) getHostStatus(r *http.Request) (any, error) {
	name := r.PathValue("hostname")
	doc, ok := s.state.HostDocument(name)
	if !ok {
		return nil, hostNotFound(name)
	}
	return doc.GlobalStatus, nil
}

// getHostProbes lists a host's probe names, worst first.
func (s *server) getHostProbes(r *http.Request) (any, error) {
	h, err := s.host(r)
	if err != nil {
		return nil, err
	}
	return nonNil(h.ProbeNames()), nil
}

func (s *server) getHostProbe(r *http.Request) (any, error) {
	return s.probe(r)
}

func (s *server) getHostProbeStatus(r *http.Request) (any, error) {
	p, err := s.probe(r)
	if err != nil {
		return nil, err
	}
	return p.Status, nil
}

// host finds the {hostname} of the request.
func (s *server) host(r *http.Request) (*state.Host, error) {
	name := r.PathValue("hostname")
	h, ok := s.state.FindHost(name)
	if !ok {
		return nil, hostNotFound(name)
	}
	return h, nil
}

// probe finds the {probe} of the request's {hostname}.
func (s *server) probe(r *http.Request) (*model.ProbeResult, error) {
	h, err := s.host(r)
	if err != nil {
		return nil, err
	}
	name := r.PathValue("probe")
	p, ok := h.Probes[name]
	if !ok {
		return nil, probeNotFound(name, h.Name)
	}
	return p, nil
}

func hostNotFound(name string) *Error {
	return errorf(http.StatusNotFound, "host %q not found", name)
}

func groupNotFound(name string) *Error {
	return errorf(http.StatusNotFound, "group %q not found", name)
}

func probeNotFound(probe, host string) *Error {
	if host == "" {
		return errorf(http.StatusNotFound, "probe %q not found", probe)
	}
	return errorf(http.StatusNotFound, "probe %q not found on host %q", probe, host)
}

// nonNil makes an empty list encode as [] rather than null: clients of the
// original iterate over these without a nil check.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
