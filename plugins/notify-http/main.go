// Command notify-http is the Wigo notifier that POSTs each notification to
// an HTTP endpoint. See README.md.
package main

import "github.com/wigo-project/wigo/sdk"

func main() { sdk.ServeNotifier(&notifier{}, sdk.WithInfo("notify-http", version)) }
