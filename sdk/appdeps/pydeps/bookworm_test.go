package pydeps

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/internal/testenv"
	"github.com/runtimekit/runtimekit/sdk/debian"
)

// TestMapBookworm maps against the real bookworm i386 index (cached by
// testenv, fetched and verified when missing): the example's flask>=2.2
// is python3-flask 2.2.x, requests is python3-requests, and every entry
// of the name table is a package bookworm has.
func TestMapBookworm(t *testing.T) {
	testenv.RequireE2E(t)
	dir := testenv.DebianIndex(t, "bookworm", "i386")
	ix, err := debian.OpenPackages(context.Background(), testenv.IndexPackages(dir, "bookworm", "i386"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []Requirement{
		{Name: "flask", Specifier: ">=2.2", Source: "requirements.txt:1"},
		{Name: "requests", Source: "requirements.txt:2"},
	}
	got, err := Map(reqs, ix, "i386")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Package != "python3-flask" || !strings.HasPrefix(got[0].Upstream, "2.2.") {
		t.Errorf("flask>=2.2 = %s %s (%s), want python3-flask 2.2.x", got[0].Package, got[0].Version, got[0].Upstream)
	}
	if got[1].Package != "python3-requests" {
		t.Errorf("requests = %s, want python3-requests", got[1].Package)
	}
	t.Logf("flask: %s %s; requests: %s %s", got[0].Package, got[0].Version, got[1].Package, got[1].Version)

	var table []Requirement
	for _, name := range slices.Sorted(maps.Keys(debianNames)) {
		table = append(table, Requirement{Name: name, Source: "debianNames"})
	}
	table = append(table, Requirement{Name: "python-dateutil"}, Requirement{Name: "zope.interface"})
	matches, err := Map(table, ix, "i386")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range matches {
		if want, ok := debianNames[m.Name]; ok && m.Package != want {
			t.Errorf("%s = %s, want %s from the table", m.Name, m.Package, want)
		}
	}
}
