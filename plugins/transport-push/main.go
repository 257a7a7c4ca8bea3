// Command transport-push is the Wigo push transport: clients behind NAT keep
// one TLS connection to a master and push their changes. See README.md.
package main

import "github.com/wigo-project/wigo/sdk"

//go:generate protoc -I proto --go_out=. --go_opt=module=github.com/wigo-project/wigo/plugins/transport-push proto/wigo/push/v1/push.proto

func main() {
	sdk.ServeTransport(newTransport(sdk.Logger()), sdk.WithInfo("transport-push", version))
}
