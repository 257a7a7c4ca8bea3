package sdk

import (
	"fmt"
	"strconv"
	"time"
)

// ParseDuration reads a duration attribute of a plugin block: a Go
// duration ("10s", "1m30s") or a plain number of seconds (at most an hour),
// since the original Wigo's configuration counted in seconds. attr names
// the attribute in the error, which Configure returns to the operator.
func ParseDuration(attr, value string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(value, 64); err == nil {
		if f <= 0 || f > 3600 {
			return 0, fmt.Errorf("%s %q: want between 0 and 3600 seconds", attr, value)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as \"10s\"", attr, value)
	}
	return d, nil
}
