// Package metrics makes probe measurements leave the daemon. Two paths:
//
//   - Router: every probe result carrying Metrics (local probes, and remote
//     hosts learned by pull or push, which reach the bus through
//     state.Ingest) becomes points handed, in batches, to each configured
//     output plugin (e.g. output-opentsdb). Each output has its own bounded
//     queue and sender, so a slow or dead output never blocks the probes,
//     the bus or the other outputs; points that do not fit are dropped,
//     counted and logged.
//   - Collector: a Prometheus collector for GET /metrics that reads the
//     whole state at scrape time (every host of the tree, with its probes
//     and their measurements) plus the daemon's own health.
//
// # Points
//
// A point is an sdk.Metric: Hostname and Group of the host, Probe (the
// output plugin builds the metric name, e.g. "<metric_prefix>.<probe>"),
// Value, Time (the probe result's Timestamp) and Tags: the probe's own
// tags with lower-cased keys, keys and values sanitised to OpenTSDB's
// character set (a-z A-Z 0-9 - _ . / and Unicode letters; anything else
// becomes '_'). A tag with an empty key or value is left out, since OpenTSDB
// refuses it. The "hostname" and "group" tags are the output's business
// (from Hostname and Group), so a probe tag of either name is dropped
// rather than allowed to contradict the host.
//
// # Losses an output reports
//
// An output plugin that owns a buffer of its own (output-opentsdb keeps
// points while OpenTSDB is down) reports the points it had to throw away by
// returning an error whose text contains "dropped N points" (see
// DroppedInError); the Router adds N to that output's dropped counter and
// does not resend the batch, which the plugin has already taken.
package metrics

import (
	"strings"
	"time"
	"unicode"

	"github.com/wigo-project/wigo/core/event"
	"github.com/wigo-project/wigo/sdk"
)

// cleanTags returns the probe's tags as points carry them. The result may
// be shared between points and outputs, and is the probe result's own map
// when nothing needed cleaning (the common case, which then costs no
// allocation): nobody modifies either.
func cleanTags(tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	if tagsClean(tags) {
		return tags
	}
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		k = sdk.SanitizeTag(strings.ToLower(k))
		v = sdk.SanitizeTag(v)
		if k == "" || v == "" || k == "hostname" || k == "group" {
			continue
		}
		out[k] = v
	}
	return out
}

func tagsClean(tags map[string]string) bool {
	for k, v := range tags {
		if k == "" || v == "" || k == "hostname" || k == "group" || sdk.SanitizeTag(k) != k || sdk.SanitizeTag(v) != v {
			return false
		}
		for _, r := range k {
			if unicode.IsUpper(r) {
				return false
			}
		}
	}
	return true
}

// Points turns a probe event into points, appending them to dst. Events
// without a result or without metrics add nothing.
func Points(dst []sdk.Metric, e *event.Event) []sdk.Metric {
	r := e.New
	if r == nil || len(r.Metrics) == 0 {
		return dst
	}
	ts := e.Time
	if r.Timestamp > 0 {
		ts = time.Unix(r.Timestamp, 0)
	}
	probe := e.Probe
	if probe == "" {
		probe = r.Name
	}
	for _, m := range r.Metrics {
		dst = append(dst, sdk.Metric{
			Hostname: e.Host,
			Group:    e.Group,
			Probe:    probe,
			Value:    m.Value,
			Tags:     cleanTags(m.Tags),
			Time:     ts,
		})
	}
	return dst
}
