// Command hello prints a greeting that its build tags choose; testbin's
// tests build it.
package main

import "fmt"

func main() { fmt.Println(greeting) }
