// Command crash fails at start, before any handshake, like a plugin whose
// initialisation fails.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "crash: cannot read /etc/crash.conf: permission denied")
	os.Exit(3)
}
