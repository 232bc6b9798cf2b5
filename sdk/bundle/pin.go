package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
)

// Pin learns the SHA-256 and size of an npm tarball that a manifest pins
// only by its integrity string, by streaming it once from the registry and
// checking the integrity on the way. `runtimectl lock` uses it so that plans
// and bundles name every artifact by SHA-256.
func Pin(ctx context.Context, client *http.Client, registry, name, version, sri string) (sum string, size int64, err error) {
	in, err := parseIntegrity(sri)
	if err != nil {
		return "", 0, err
	}
	if client == nil {
		client = defaultClient()
	}
	url := NPMTarballURL(registry, name, version)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	h256, hSRI := sha256.New(), in.newHash()
	n, err := io.Copy(io.MultiWriter(h256, hSRI), resp.Body)
	if err != nil {
		return "", 0, fmt.Errorf("fetch %s: %w", url, err)
	}
	if !in.match(hSRI.Sum(nil)) {
		return "", 0, fmt.Errorf("%s does not match its integrity %s", url, sri)
	}
	return hex.EncodeToString(h256.Sum(nil)), n, nil
}
