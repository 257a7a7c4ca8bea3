//go:build !linux

package probe

import "errors"

// canWaitNoReap is false where waitid(WNOWAIT) is not wired up: the runner
// then kills the process group only on timeout, output overflow or
// cancellation, and does not sweep leftovers after a normal exit. Wigo
// targets Linux; this file only keeps the package building elsewhere.
const canWaitNoReap = false

func waitExited(int) error { return errors.ErrUnsupported }
