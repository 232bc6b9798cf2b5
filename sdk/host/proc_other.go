//go:build !linux

package host

import "os/exec"

// setPdeathsig has no portable equivalent off Linux; Close and context
// cancellation still stop plugins there.
func setPdeathsig(*exec.Cmd) {}
