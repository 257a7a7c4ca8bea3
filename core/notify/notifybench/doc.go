// Package notifybench holds the end-to-end notification benchmark: events
// published on a real event bus go through the notification pipeline and
// its SQLite outbox to the real notify-http plugin binary, started by the
// real plugin host, which POSTs them to a local HTTP sink. It measures what
// an operator gets (events per second, event-to-POST latency), where the
// benchmark in package notify measures the pipeline with an in-process
// sender.
//
// The package has no code of its own: everything is in its tests.
//
//	go test -run '^$' -bench . -benchtime 2000x ./core/notify/notifybench/
package notifybench
