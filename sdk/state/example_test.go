package state_test

import (
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/state"
)

// A state as the executor writes it: which runtimes a machine has, what
// each pulled in, the files it wrote (with the digest of the bytes
// written, so a user's edit is noticed) and its services. Parse checks it
// against the schema and the rules the schema cannot say.
func ExampleParse() {
	s, err := state.Parse([]byte(`{
  "formatVersion": 1,
  "lineage": "0123456789abcdef0123456789abcdef",
  "serial": 2,
  "target": "webvm-i386",
  "runtimes": [{
    "name": "nginx", "version": "1.22.1", "memoryMiB": 16, "diskMiB": 4,
    "packages": [{"name": "nginx-light", "version": "1.22.1-9+deb12u2", "arch": "i386"}],
    "files": [{"path": "/etc/runtimekit/nginx/nginx.conf", "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
               "mode": 420, "owner": "root", "group": "root", "kind": "managed"}],
    "services": [{"name": "nginx", "argv": ["/usr/sbin/nginx", "-g", "daemon off;"], "user": "root",
                  "restart": "always", "stopSignal": "QUIT", "stopTimeout": "10s"}]
  }]
}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Target, "serial", s.Serial)
	if rt, ok := s.Runtime("nginx"); ok {
		fmt.Println(rt.Name, rt.Version, "from", rt.Packages[0].Name, rt.Packages[0].Version)
		fmt.Printf("%s %o %s\n", rt.Files[0].Path, rt.Files[0].Mode, rt.Files[0].Kind)
	}
	if _, ok := s.Runtime("node"); !ok {
		fmt.Println("node is not installed")
	}
	// Output:
	// webvm-i386 serial 2
	// nginx 1.22.1 from nginx-light 1.22.1-9+deb12u2
	// /etc/runtimekit/nginx/nginx.conf 644 managed
	// node is not installed
}

// Validate refuses what the schema lets through: here a runtime listed
// twice and a file path that is not clean. Each problem names its field.
func ExampleState_Validate() {
	s := state.New("webvm-i386")
	s.Runtimes = []state.Runtime{
		{Name: "nginx", Version: "1.22.1"},
		{Name: "nginx", Version: "1.24.0", Files: []state.File{{Path: "/etc/../etc/passwd"}}},
	}
	fmt.Println(s.Validate())
	// Output:
	// runtimes/1/name: runtime nginx: listed twice: a runtime is installed once
	// runtimes/1/files/0/path: runtime nginx: file path "/etc/../etc/passwd" is not clean: write "/etc/passwd"
}
