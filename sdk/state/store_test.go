package state_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

func sample() *state.State {
	s := state.New("webvm-i386")
	s.Lineage = strings.Repeat("ab", 16)
	s.Serial = 3
	s.Runtimes = []state.Runtime{{
		Name: "nginx", Version: "1.22.1", MemoryMiB: 16,
		Packages: []state.Package{{Name: "nginx-light", Version: "1.22.1-9+deb12u2", Arch: "i386"}},
		Files:    []state.File{{Path: "/etc/runtimekit/nginx/nginx.conf", SHA256: strings.Repeat("0", 64), Mode: 0o644, Owner: "root", Group: "root", Kind: "managed"}},
		Services: []state.Service{{Name: "nginx", Argv: []string{"/usr/sbin/nginx"}, User: "root", Restart: "always", StopSignal: "QUIT", StopTimeout: unit.Duration(10 * time.Second)}},
		Health:   []state.HealthCheck{{Name: "nginx-http", Kind: "http", Service: "nginx", Port: 80, Path: "/", Status: 200, Interval: unit.Duration(time.Second), Timeout: unit.Duration(5 * time.Second), Retries: 3, StartPeriod: 0}},
		Ports:    []state.Port{{Name: "http", Number: 80, Protocol: "tcp"}},
	}}
	return s
}

func TestSaveLoadKeepsPrevious(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s, exists, err := state.Load(path)
	if err != nil || exists || s.Serial != 0 || s.Lineage != "" {
		t.Fatalf("missing state: got %+v exists=%v err=%v", s, exists, err)
	}
	first := sample()
	if err := state.Save(path, first); err != nil {
		t.Fatal(err)
	}
	second := sample()
	second.Serial = 4
	if err := state.Save(path, second); err != nil {
		t.Fatal(err)
	}
	got, exists, err := state.Load(path)
	if err != nil || !exists {
		t.Fatal(err)
	}
	if diff := cmp.Diff(second, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	prev, _, err := state.Load(path + ".prev")
	if err != nil || prev.Serial != 3 {
		t.Errorf("previous state: serial %v, err %v; want 3", prev.Serial, err)
	}
}

func TestInvalidStateRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	bad := sample()
	bad.Runtimes[0].Files[0].Path = "/etc/../shadow"
	if err := state.Save(path, bad); err == nil {
		t.Fatal("Save accepted a state with a path containing ..")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("an invalid state was written: %v", err)
	}
	os.WriteFile(path, []byte(`{"formatVersion": 1, "lineage": "x", "serial": -1, "target": "", "runtimes": []}`), 0o644)
	if _, _, err := state.Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load of a bad state: want an error naming %s, got %v", path, err)
	}
}

// TestLoadDamagedNamesPrev: a damaged state file's error names the copy
// of the state before the last apply, the way back.
func TestLoadDamagedNamesPrev(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	good := state.New("webvm-i386")
	if err := state.Save(path, good); err != nil {
		t.Fatal(err)
	}
	if err := state.Save(path, good); err != nil { // the first becomes .prev
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := state.Load(path)
	if err == nil || !strings.Contains(err.Error(), "is damaged") || !strings.Contains(err.Error(), path+".prev") {
		t.Fatalf("want an error naming %s.prev, got %v", path, err)
	}
}
