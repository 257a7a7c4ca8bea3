// Package probe discovers, schedules and runs Wigo probes: executables under
// probes_dir/<seconds>/NAME that print one JSON result on stdout.
//
// # Discovery
//
// Every directory of the probes directory whose name is a positive number
// of seconds is an interval directory; anything else (examples/, lib/) is
// ignored. Each executable regular file in it, or symlink to one, is a
// probe named after the entry. Hidden files, editor leftovers (*~, *.swp,
// #*#) and package-manager backups (*.dpkg-*, *.rpmnew, *.rpmsave, ...)
// are skipped silently; anything else that cannot run (not executable,
// broken symlink, a directory) is skipped with one warning, logged again
// only if the problem goes away and comes back. A name present in several
// interval directories runs once, at the smallest interval, with one
// warning. Changes are seen through inotify (the probes directory and every
// interval directory are watched; event bursts are coalesced for 50 ms) and
// by a full rescan every Options.Rescan, which also re-arms the watches:
// inotify misses some changes (a symlink's target made executable, a full
// event queue), the rescan does not. A probes directory that does not exist
// yet is noticed by the periodic rescan only.
//
// # Scheduling
//
// A probe has a stable phase inside its interval: FNV-1a of its name modulo
// the interval. It runs when the wall clock (Unix time) is congruent to its
// phase modulo the interval, so a thousand probes of the same interval are
// spread evenly over it instead of all forking at once, and a probe keeps
// its slot across restarts. Its first run after discovery (or after its
// interval changes) comes sooner, after phase mod min(interval, 5s), so a
// starting daemon has results within five seconds while still spreading
// the first runs; the following run is the first grid slot at least half
// an interval later, and from then on runs are exactly one interval apart.
// Timers use the monotonic clock, so a wall-clock step does not stall or
// burst the schedule. A probe never runs twice at once: if its previous run
// is still going when a run is due, that run is skipped (logged at debug)
// rather than queued. After a stall (suspend) it runs once, not once per
// missed slot.
//
// # Running
//
// A probe is executed directly (no shell) with its interval directory as
// working directory, the daemon's environment plus
// WIGO_PROBE_CONFIG_ROOT=<ConfigDir>, in its own process group. Its timeout
// is Options.Timeout, or its interval minus one second, at least one
// second; on timeout the whole process group is killed with SIGKILL. When
// the probe exits, whatever it left running in its process group is killed
// too (a background child holding stdout open would otherwise keep the run
// going); the group is killed while the exited probe is still an unreaped
// zombie, so its id cannot have been reused. A process that escaped the
// group (setsid) and still holds stdout open delays the end of the run by
// at most one second. Stdout is capped at Options.MaxOutput: a probe
// printing more is killed and reported as failed, and memory use stays
// bounded. The last 4 KiB of stderr are kept for failure messages.
//
// # Results
//
// Stdout must hold one JSON object in the original's shape. The daemon
// forces Name to the file name, sets ProbeDate and Timestamp to the end of
// the run and records ExitCode. Field names match case-insensitively and
// numbers printed as strings are accepted, as probes written for the
// original do both. Every failure becomes a Status 500 result whose
// Message names the probe and the reason:
//
//	probe "disk" timed out after 59s and was killed
//	probe "x" output exceeds 1 MiB; the probe was killed
//	probe "x" printed nothing on stdout
//	probe "x" printed invalid JSON: <decoder error> (first bytes: "...")
//	probe "x" printed JSON that is not an object (first bytes: "...")
//	probe "x" output has no Status
//	probe "x" output has an invalid Status: want an integer, got "..."
//	probe "x" output has invalid Metrics: metric 0: Value: want a number, got ...
//	probe "x" returned Status 42, outside 100..999; probe said: <its Message>
//	probe "x" exited with code 2: <last line of stderr>
//	probe "x" exited with code 2: <last line of stderr>; probe said: <its Message>
//	probe "x" was killed by signal 9 (killed); stderr: <last line>
//	probe "x" could not be started: exec format error
//
// A non-zero exit with a valid body keeps the probe's Detail, Metrics and
// Version. When the daemon builds the result itself and stderr was not
// empty, Detail is {"stderr": "<last 4 KiB>"}.
//
// # Exit codes 12 and 13
//
// Exit code 12 (ExitDisable) disables the probe until the daemon restarts
// and keeps its last result as it was: no result is published for that
// run. Exit code 13 (ExitRemove) disables it the same way and removes its
// result (Sink.ProbeRemoved). A disabled probe stays listed by
// Manager.Probes with Disabled set, stays disabled if its file is removed
// and put back, and its removal from disk still reports ProbeRemoved after
// an exit 12 (its kept result must go with it).
package probe
