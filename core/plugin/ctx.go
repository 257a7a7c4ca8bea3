package plugin

import "context"

// contextStopping is a context cancelled when stop is closed, so a restart
// in progress does not hold up Stop. Call the cancel function when done.
func contextStopping(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
