package main

import (
	"encoding/json"
	"os"
	"testing"
)

func TestProcSampling(t *testing.T) {
	pids := []int{os.Getpid()}
	if _, ok := procCPU(pids); !ok {
		t.Fatal("cannot read this process's CPU time")
	}
	if rss := procRSS(pids); rss <= 0 {
		t.Fatalf("RSS = %d", rss)
	}
	if _, ok := procCPU(nil); ok {
		t.Fatal("CPU of no process")
	}
}

// TestDelta: a simulated update renews every probe and flips statuses.
func TestDelta(t *testing.T) {
	h := newHost("lg-1", 20)
	var ops []deltaOp
	if err := json.Unmarshal(h.delta(1), &ops); err != nil {
		t.Fatal(err)
	}
	if len(ops) != 20 || len(ops[0].Path) != 3 || ops[0].Path[0] != "LocalHost" {
		t.Fatalf("ops = %+v", ops[:1])
	}
	for _, s := range h.status {
		if s != 300 {
			t.Fatalf("statuses = %v, want every one flipped to 300", h.status)
		}
	}
}
