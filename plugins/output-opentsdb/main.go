// Command output-opentsdb is the Wigo output plugin that sends probe
// metrics to OpenTSDB's HTTP /api/put. See README.md.
package main

import "github.com/wigo-project/wigo/sdk"

func main() {
	sdk.ServeOutput(newOutput(), sdk.WithInfo("output-opentsdb", version), sdk.WithCapabilities(sdk.CapBuffering))
}
