package spec

import "strings"

// Supports tells whether the runtime can be installed on a platform, and if
// not, why: the manifest's own reason for an unsupported platform, or the
// list of platforms it does support.
func (m *Manifest) Supports(pl Platform) (reason string, ok bool) {
	for _, q := range m.Platforms {
		if q == pl {
			return "", true
		}
	}
	for _, u := range m.Unsupported {
		if u.Platform == pl {
			return u.Reason, false
		}
	}
	have := make([]string, len(m.Platforms))
	for i, q := range m.Platforms {
		have[i] = q.String()
	}
	return "it supports only " + strings.Join(have, ", "), false
}
