//go:build race

package main

// raceEnabled: the race detector allows 8128 live goroutines, so the storm
// test multiplexes sessions over fewer connections under it.
const raceEnabled = true
