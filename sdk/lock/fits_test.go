package lock_test

import (
	"testing"

	"github.com/runtimekit/runtimekit/sdk/lock"
)

func TestFits(t *testing.T) {
	l := sample() // webvm-i386: 386/i386, bookworm
	tests := []struct {
		name    string
		target  lock.Target
		wantErr string
	}{
		{"same target", lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: "i386", Release: "bookworm"}, ""},
		{"another profile", lock.Target{Name: "debian12-amd64", Arch: "amd64", DebianArch: "amd64", Release: "bookworm"},
			"it is for target webvm-i386 (386/i386, bookworm), not debian12-amd64 (amd64/amd64, bookworm)"},
		{"another release", lock.Target{Name: "webvm-i386", Arch: "386", DebianArch: "i386", Release: "trixie"},
			"it is for target webvm-i386 (386/i386, bookworm), not webvm-i386 (386/i386, trixie)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Fits(tt.target)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Fits: %v", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Fatalf("Fits = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
