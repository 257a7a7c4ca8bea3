//go:build !fakeclock

package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/core/daemon"
)

// clockOptions is empty in a release build: the daemon reads the system
// clock. The tests build with -tags fakeclock (clock_fake.go).
func clockOptions(hclog.Logger) ([]daemon.Option, error) { return nil, nil }
