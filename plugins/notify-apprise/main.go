// Command notify-apprise is the Wigo notifier that sends each notification
// through the apprise CLI, to any of the services apprise knows. See
// README.md.
package main

import "github.com/wigo-project/wigo/sdk"

func main() { sdk.ServeNotifier(&notifier{}, sdk.WithInfo("notify-apprise", version)) }
