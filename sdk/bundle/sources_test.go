package bundle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/bundle"
)

func TestAptMirror(t *testing.T) {
	tests := []struct {
		name    string
		list    string // etc/apt/sources.list
		deb822  string // etc/apt/sources.list.d/debian.sources
		want    string
		wantErr string
	}{
		{
			name: "the release itself wins over an earlier update suite",
			list: "deb http://updates.example/debian bookworm-updates main\n" +
				"deb http://deb.example/debian/ bookworm main\n",
			want: "http://deb.example/debian",
		},
		{
			name: "an update suite, not the security archive",
			list: "deb http://security.example/debian-security bookworm-security main\n" +
				"deb https://updates.example/debian bookworm-updates main\n",
			want: "https://updates.example/debian",
		},
		{
			name:   "deb822 sources",
			deb822: "Types: deb\nURIs: file:///srv/mirror/\nSuites: bookworm bookworm-updates\nComponents: main\n",
			want:   "file:///srv/mirror",
		},
		{
			name: "source packages, other schemes and other releases are not used",
			list: "deb-src http://src.example/debian bookworm main\n" +
				"deb cdrom:[Debian]/ bookworm main\n" +
				"deb http://old.example/debian bullseye main\n",
			wantErr: `no Debian mirror: this machine's apt sources have no http(s) or file "deb" source for bookworm`,
		},
		{
			name:    "no sources at all",
			wantErr: "no Debian mirror",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.list != "" {
				write(t, filepath.Join(root, "etc/apt/sources.list"), []byte(tt.list))
			}
			if tt.deb822 != "" {
				write(t, filepath.Join(root, "etc/apt/sources.list.d/debian.sources"), []byte(tt.deb822))
			}
			got, err := bundle.AptMirror(root, "bookworm")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestNPMRegistry(t *testing.T) {
	// fakeNPM puts an npm on PATH that runs script.
	fakeNPM := func(t *testing.T, script string) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "npm"), []byte("#!/bin/sh\n"+script+"\n"))
		if err := os.Chmod(filepath.Join(dir, "npm"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", dir)
	}
	tests := []struct {
		name    string
		env     string // npm_config_registry
		npm     string // the fake npm's script; "" for no npm
		want    string
		wantErr string
	}{
		{name: "the environment first", env: "https://env.example/", npm: "echo https://npmrc.example/", want: "https://env.example/"},
		{name: "npm's own configuration", npm: `[ "$*" = "config get registry" ] && echo https://npmrc.example/`, want: "https://npmrc.example/"},
		{name: "npm fails", npm: "echo 'cannot read .npmrc' >&2; exit 1", wantErr: "no npm registry: npm config get registry: exit status 1: cannot read .npmrc"},
		{name: "npm prints no URL", npm: "echo undefined", wantErr: `no npm registry: npm config get registry printed "undefined"`},
		{name: "no npm", wantErr: "no npm registry: npm_config_registry is not set and npm is not installed to ask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("npm_config_registry", tt.env)
			t.Setenv("NPM_CONFIG_REGISTRY", "")
			if tt.npm != "" {
				fakeNPM(t, tt.npm)
			} else {
				t.Setenv("PATH", t.TempDir())
			}
			got, err := bundle.NPMRegistry(t.Context())
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
