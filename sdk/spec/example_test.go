package spec_test

import (
	"fmt"
	"time"

	"github.com/runtimekit/runtimekit/sdk/spec"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// A manifest's declarations resolved into the units plans carry.
func ExampleManifest_ResolveService() {
	m := &spec.Manifest{
		Name:  "web",
		Env:   map[string]string{"PORT": "8080", "MODE": "production"},
		Ports: []spec.Port{{Name: "http", Number: 8080, Protocol: "tcp"}},
		Services: []spec.Service{{Name: "web", Argv: []string{"/usr/bin/web"}, User: "www-data",
			Env: map[string]string{"MODE": "debug"}, StopTimeout: unit.Duration(10 * time.Second)}},
		Health: []spec.HealthCheck{{Name: "web-http", Kind: spec.HealthHTTP, Service: "web", Port: "http",
			HTTP: &spec.HTTPProbe{Path: "/healthz", Status: 200}, Interval: unit.Duration(time.Second)}},
	}
	svc := m.ResolveService(m.Services[0])
	hc := m.Health[0].Resolve(m.PortNumbers())
	fmt.Println(svc.Env["PORT"], svc.Env["MODE"], svc.StopTimeout)
	fmt.Println(hc.Port, hc.Path, hc.Status, hc.Interval)
	fmt.Println(spec.HealthField("path"), spec.HealthField("argv/0"), spec.HealthField("interval"))
	// Output:
	// 8080 debug 10s
	// 8080 /healthz 200 1s
	// http/path exec/argv/0 interval
}

func ExampleDebianPackage_Relation() {
	for _, p := range []spec.DebianPackage{{Name: "nginx-light"}, {Name: "nodejs", Version: ">= 18"}, {Name: "libc6", Version: ">=2.36"}, {Name: "tzdata", Version: "2024a-0+deb12u1"}} {
		fmt.Println(p.Relation())
	}
	// Output:
	// nginx-light
	// nodejs (>= 18)
	// libc6 (>= 2.36)
	// tzdata (2024a-0+deb12u1)
}

func ExampleParamNote() {
	params := map[string]any{"root": "/srv/www", "port": 8080}
	fmt.Printf("%q\n", spec.ParamNote("nginx", params, "/srv/www/../etc"))
	fmt.Printf("%q\n", spec.ParamNote("nginx", params, "/var/www"))
	// Output:
	// " (from parameter nginx.root)"
	// ""
}
