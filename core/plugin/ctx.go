package plugin

import "context"

// contextStopping is a context cancelled when stop or quit is closed (quit
// may be nil), so a restart in progress holds up neither Stop nor the
// reload that retires its instance. Call the cancel function when done.
func contextStopping(stop, quit <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
			cancel()
		case <-quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
