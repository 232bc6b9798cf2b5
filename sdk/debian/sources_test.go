package debian

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestReadAptSources(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/apt/sources.list": `# comment
deb [arch=i386 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main contrib
deb-src http://mirror.example/debian bookworm main
`,
		"etc/apt/sources.list.d/debian.sources": `Types: deb
# http://snapshot.example/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Enabled: no
Types: deb
URIs: http://off.example/
Suites: x
`,
		"etc/apt/sources.list.d/vendor.list.disabled": "deb http://ignored.example/ x main\n",
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadAptSources(root)
	if err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(root, "etc/apt/sources.list")
	d822 := filepath.Join(root, "etc/apt/sources.list.d/debian.sources")
	want := []AptSource{
		{Type: "deb", URIs: []string{"http://mirror.example/debian"}, Suites: []string{"bookworm"}, Components: []string{"main", "contrib"},
			Options: map[string]string{"arch": "i386", "signed-by": "/usr/share/keyrings/k.gpg"}, File: list, Line: 2},
		{Type: "deb-src", URIs: []string{"http://mirror.example/debian"}, Suites: []string{"bookworm"}, Components: []string{"main"},
			Options: map[string]string{}, File: list, Line: 3},
		{Type: "deb", URIs: []string{"http://mirror.example/debian"}, Suites: []string{"bookworm", "bookworm-updates"}, Components: []string{"main"},
			Options: map[string]string{"signed-by": "/usr/share/keyrings/debian-archive-keyring.gpg"}, File: d822, Line: 1},
		{Type: "deb", URIs: []string{"http://security.example/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"},
			Options: map[string]string{}, File: d822, Line: 8},
		{Type: "deb-src", URIs: []string{"http://security.example/debian-security"}, Suites: []string{"bookworm-security"}, Components: []string{"main"},
			Options: map[string]string{}, File: d822, Line: 8},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}
}

func TestParseSourcesErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"one-line type", "rpm http://x/ y\n", "sources.list:1: unknown source type \"rpm\""},
		{"one-line short", "deb http://x/\n", "sources.list:1: want \"deb uri suite [component...]\""},
		{"deb822 missing", "Types: deb\nURIs: http://x/\n", "x.sources:1: paragraph needs Types, URIs and Suites"},
		{"deb822 malformed", "Types deb\n", "x.sources:1: malformed line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(tc.name, "one-line") {
				_, err = ParseSourcesList(strings.NewReader(tc.text), "sources.list")
			} else {
				_, err = ParseDeb822Sources(strings.NewReader(tc.text), "x.sources")
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
