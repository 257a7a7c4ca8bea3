package sdk

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"10s": 10 * time.Second, "1m30s": 90 * time.Second, "30": 30 * time.Second, "0.5": 500 * time.Millisecond}
	for in, want := range good {
		if got, err := ParseDuration("timeout", in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1", "3601", "-5s", "soon", "10 s"} {
		if _, err := ParseDuration("timeout", in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}
