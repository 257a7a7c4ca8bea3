package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wigo-project/wigo/sdk"
)

// TestProbeChangesArePatches: after the first snapshot, a change of probe
// results reaches the core as a probe patch, not a whole document; when
// the core asks for the document instead, every change still arrives.
func TestProbeChangesArePatches(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	srv := startServer(t, filepath.Join(dir, "srv"), port, "auto_accept = true")
	cli := startClient(t, filepath.Join(dir, "cli"), port, "client-1")
	eventually(t, "first document", func() bool { return srv.host.count("client-1") > 0 })

	cli.host.setProbe("cpu", 300)
	eventually(t, "cpu 300", func() bool { return slices.Equal(srv.host.statuses("client-1", "cpu"), []int{100, 300}) })
	if srv.host.patchCount() == 0 {
		t.Fatal("a probe change reached the core as a whole document, not a patch")
	}

	srv.host.noPatches.Store(true)
	cli.host.setProbe("cpu", 500)
	eventually(t, "cpu 500 by a whole document", func() bool {
		return slices.Equal(srv.host.statuses("client-1", "cpu"), []int{100, 300, 500})
	})
}

// coreWithoutBatches is a core that predates IngestBatch.
type coreWithoutBatches struct{ sdk.Host }

// TestCoreWithoutBatches: against a core that does not take batches, the
// server says so once and ingests whole documents.
func TestCoreWithoutBatches(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	host := newTestHost("master-uuid", "master")
	srv := startServerWith(t, filepath.Join(dir, "srv"), port, "auto_accept = true", host, coreWithoutBatches{host})
	cli := startClient(t, filepath.Join(dir, "cli"), port, "client-1")
	eventually(t, "first document", func() bool { return host.count("client-1") > 0 })
	cli.host.setProbe("cpu", 300)
	eventually(t, "cpu 300", func() bool { return slices.Equal(host.statuses("client-1", "cpu"), []int{100, 300}) })
	if n := strings.Count(srv.log.String(), "the core takes no batches"); n != 1 {
		t.Fatalf("fallback logged %d times, want once:\n%s", n, srv.log.String())
	}
	if n := host.patchCount(); n != 0 {
		t.Fatalf("%d patches reached a core without batches", n)
	}
}
