package image

import (
	"strings"
	"testing"
)

func TestReduceStatus(t *testing.T) {
	in := `Package: b
Status: install ok installed
Priority: required
Section: misc
Installed-Size: 10
Maintainer: X <x@example.org>
Architecture: i386
Version: 1.0
Depends: a (>= 1)
Description: the b
 long text
Conffiles:
 /etc/b 0123

Package: a
Status: install ok installed
Architecture: all
Version: 2
Description: the a
`
	out, pkgs := ReduceStatus([]byte(in))
	want := `Package: b
Status: install ok installed
Priority: required
Installed-Size: 10
Architecture: i386
Version: 1.0
Depends: a (>= 1)

Package: a
Status: install ok installed
Architecture: all
Version: 2
`
	if string(out) != want {
		t.Errorf("ReduceStatus:\n%s\nwant:\n%s", out, want)
	}
	if strings.Join(pkgs, " ") != "a b" {
		t.Errorf("packages %v, want [a b]", pkgs)
	}
}

func TestProfileCUE(t *testing.T) {
	got := string(ProfileCUE(Target{Name: "vm", Description: "a VM", Release: "bookworm", Version: "12", Arch: "i386", MemoryMiB: 512, DiskMiB: 2048}, []string{"a", "b"}))
	for _, want := range []string{`name:        "vm"`, `arch:        "386"`, `budget: {memoryMiB: 512, diskMiB: 2048}`, "\t\t\"a\",\n\t\t\"b\",\n", `status: "vm.status"`} {
		if !strings.Contains(got, want) {
			t.Errorf("profile lacks %q:\n%s", want, got)
		}
	}
}

func TestNameUUID(t *testing.T) {
	u := nameUUID("x")
	if len(u) != 36 || u[14] != '5' || !strings.ContainsAny(u[19:20], "89ab") || u != nameUUID("x") || u == nameUUID("y") {
		t.Errorf("nameUUID: %s", u)
	}
}
