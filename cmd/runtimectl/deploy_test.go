//go:build !vm

package main

import (
	"strings"
	"testing"

	"github.com/runtimekit/runtimekit/sdk/spec"
)

// A runtime whose manifest, in app mode, runs nothing in the app's
// directory cannot serve deployed apps, and deploy says so; the first
// service that does is the web process.
func TestAppUnits(t *testing.T) {
	const dir = "/srv/apps/site/current"
	m := &spec.Manifest{Name: "db", Services: []spec.Service{{Name: "db", Argv: []string{"/usr/bin/db"}}}}
	if _, _, err := appUnits(m, dir); err == nil || !strings.Contains(err.Error(), "runtime db declares no service for an app") {
		t.Errorf("a runtime with no app service: %v", err)
	}
	m.Services = append(m.Services,
		spec.Service{Name: "db-web", Argv: []string{"/usr/bin/web"}, Workdir: dir},
		spec.Service{Name: "db-worker", Argv: []string{"/usr/bin/work"}, Workdir: dir})
	procs, hc, err := appUnits(m, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 2 || procs[0].Name != "web" || procs[1].Name != "worker" || procs[1].Argv[0] != "/usr/bin/work" {
		t.Errorf("processes %+v, want web then worker", procs)
	}
	if hc.Kind != "tcp" || hc.Retries < 3 {
		t.Errorf("the default check is %+v, want a TCP check with retries", hc)
	}
}
