package bundle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/runtimekit/runtimekit/sdk/debian"
)

// AptMirror returns the Debian mirror root that the apt of the machine
// whose root directory is root ("/" for this one) uses for release: the
// first "deb" source with an http, https or file URI that lists the
// release itself among its suites, else the first that lists an update
// suite of it (release-updates) but is not the security archive, whose
// pool holds only security uploads. It is the default of
// [FetchOptions.Mirror] and of the mirror a Debian index is fetched from.
func AptMirror(root, release string) (string, error) {
	srcs, err := debian.ReadAptSources(root)
	if err != nil {
		return "", fmt.Errorf("no Debian mirror: %w", err)
	}
	usable := func(s debian.AptSource) (string, bool) {
		if s.Type != "deb" || len(s.URIs) == 0 {
			return "", false
		}
		u, err := url.Parse(s.URIs[0])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
			return "", false
		}
		return strings.TrimRight(s.URIs[0], "/"), true
	}
	for _, s := range srcs {
		for _, suite := range s.Suites {
			if m, ok := usable(s); ok && suite == release {
				return m, nil
			}
		}
	}
	for _, s := range srcs {
		for _, suite := range s.Suites {
			if m, ok := usable(s); ok && strings.HasPrefix(suite, release+"-") && !strings.Contains(suite, "security") {
				return m, nil
			}
		}
	}
	return "", fmt.Errorf("no Debian mirror: this machine's apt sources have no http(s) or file \"deb\" source for %s", release)
}

// npmConfigTimeout bounds `npm config get registry`: npm is a Node.js
// program and starts slowly, but not this slowly.
const npmConfigTimeout = 30 * time.Second

// NPMRegistry finds the npm registry the way npm itself would: the
// npm_config_registry environment variable (npm reads it in any case),
// else what `npm config get registry` prints, which covers .npmrc files.
// It is the default of [FetchOptions.NPMRegistry] and of the registry
// [Pin] reads from.
func NPMRegistry(ctx context.Context) (string, error) {
	for _, k := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		if v := os.Getenv(k); v != "" {
			return v, nil
		}
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("no npm registry: npm_config_registry is not set and npm is not installed to ask")
	}
	ctx, cancel := context.WithTimeout(ctx, npmConfigTimeout)
	defer cancel()
	var out, stderr bytes.Buffer
	c := exec.CommandContext(ctx, npm, "config", "get", "registry")
	c.Stdout, c.Stderr = &out, &stderr
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("no npm registry: npm config get registry: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	reg := strings.TrimSpace(out.String())
	if u, err := url.Parse(reg); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("no npm registry: npm config get registry printed %q", reg)
	}
	return reg, nil
}
