// Command transport-pull is the Wigo transport that polls other Wigo
// instances (this project's or the original's) over GET /api and ingests
// what they report. See README.md.
package main

import "github.com/wigo-project/wigo/sdk"

func main() { sdk.ServeTransport(&puller{}, sdk.WithInfo("transport-pull", version)) }
