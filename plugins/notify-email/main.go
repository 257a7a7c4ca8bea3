// Command notify-email is the Wigo notifier that sends each notification as
// a mail through an SMTP server. See README.md.
package main

import "github.com/wigo-project/wigo/sdk"

func main() { sdk.ServeNotifier(&notifier{}, sdk.WithInfo("notify-email", version)) }
