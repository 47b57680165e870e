// Command roster-agent enrolls service identities with a roster server,
// keeps their short-lived certificates fresh and reports host scans.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "roster-agent: not implemented yet")
	os.Exit(2)
}
