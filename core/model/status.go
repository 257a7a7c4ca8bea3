// Package model holds the data every part of Wigo shares: probe results, hosts,
// the status scale and the original's JSON document shapes. It has no
// behaviour beyond small helpers, so every other package can import it.
package model

// Status codes as probes print them. The scale is the original Wigo's: the
// higher, the worse, and aggregation always keeps the worst.
const (
	StatusOK    = 100 // everything fine
	StatusInfo  = 101 // 101–199: fine, but worth a look
	StatusWarn  = 200 // 200–299
	StatusCrit  = 300 // 300–499
	StatusError = 500 // 500+: the probe itself failed
	StatusDown  = 999 // nothing heard from a host for alive_timeout
)

// StatusName is the level word for a status code: OK, INFO, WARN, CRIT,
// ERROR or DOWN. Codes below 100 (never valid) read as UNKNOWN.
func StatusName(status int) string {
	switch {
	case status == StatusDown:
		return "DOWN"
	case status >= StatusError:
		return "ERROR"
	case status >= StatusCrit:
		return "CRIT"
	case status >= StatusWarn:
		return "WARN"
	case status > StatusOK:
		return "INFO"
	case status == StatusOK:
		return "OK"
	default:
		return "UNKNOWN"
	}
}

// Log levels of the original's log table (its Level field).
const (
	LogDebug     = 1
	LogNotice    = 2
	LogInfo      = 3
	LogError     = 4
	LogWarning   = 5
	LogCritical  = 6
	LogEmergency = 7
)

// LogLevelFor maps a status to the level its change is logged at, as the
// original does: 100 NOTICE, 101–199 INFO, 200–299 WARNING, 300–499 CRITICAL,
// 500+ ERROR, and DOWN as EMERGENCY.
func LogLevelFor(status int) int {
	switch {
	case status == StatusDown:
		return LogEmergency
	case status >= StatusError:
		return LogError
	case status >= StatusCrit:
		return LogCritical
	case status >= StatusWarn:
		return LogWarning
	case status > StatusOK:
		return LogInfo
	default:
		return LogNotice
	}
}

// LogLevelName is the word for an original log level.
func LogLevelName(level int) string {
	switch level {
	case LogDebug:
		return "DEBUG"
	case LogNotice:
		return "NOTICE"
	case LogInfo:
		return "INFO"
	case LogError:
		return "ERROR"
	case LogWarning:
		return "WARNING"
	case LogCritical:
		return "CRITICAL"
	case LogEmergency:
		return "EMERGENCY"
	}
	return "UNKNOWN"
}

// StatusForLogLevel is the status a log level stands for, the inverse of
// LogLevelFor: the best status logged at that level (NOTICE 100, INFO 101,
// WARNING 200, CRITICAL 300, ERROR 500, EMERGENCY 999; DEBUG, which the
// core never writes, 100). StatusName of it is the level's word in the
// host views' vocabulary. Unknown levels give 0 (UNKNOWN).
func StatusForLogLevel(level int) int {
	switch level {
	case LogDebug, LogNotice:
		return StatusOK
	case LogInfo:
		return StatusInfo
	case LogWarning:
		return StatusWarn
	case LogCritical:
		return StatusCrit
	case LogError:
		return StatusError
	case LogEmergency:
		return StatusDown
	}
	return 0
}
