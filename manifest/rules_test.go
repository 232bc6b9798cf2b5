package manifest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runtimekit/runtimekit/manifest"
)

// TestPlanRulesInManifests: values every plan is held to (sdk/plan,
// sdk/state) are refused in the manifest that writes them, at their
// position, once each.
func TestPlanRulesInManifests(t *testing.T) {
	svc := func(extra string) string {
		return header + `services: [{name: "web", argv: ["/usr/bin/web"], user: "www-data"` + extra + `}]
`
	}
	tests := []struct {
		name string
		src  string
		want []diagWant
	}{{
		name: "a file in the account files",
		src:  header + `files: [{path: "/etc/shadow", content: "x"}]` + "\n",
		want: []diagWant{{"m.cue:6:16", "/etc/shadow is one of the system's account files, which plans may not write or remove", false}},
	}, {
		name: "setuid",
		src:  header + `files: [{path: "/usr/local/bin/tool", content: "x", mode: 0o4755}]` + "\n",
		want: []diagWant{{"m.cue:6:59", "invalid value 2541 (out of bound <=1023)", true}},
	}, {
		name: "archive into /usr",
		src:  header + `packages: archives: [{name: "a", url: "https://example.org/a.tgz", sha256: "` + strings.Repeat("0", 64) + `", format: "tar.gz", dest: "/usr"}]` + "\n",
		want: []diagWant{{"m.cue:6:168", "archive destination /usr holds /usr/sbin/policy-rc.d", false}},
	}, {
		name: "= in argv[0], NUL in env",
		src:  header + `services: [{name: "web", argv: ["A=1", "x"], user: "www-data", env: B: "\u0000"}]` + "\n",
		want: []diagWant{
			{"m.cue:6:33", "service web: the command (argv[0]) \"A=1\" contains '='", false},
			{"m.cue:6:72", "service web: environment variable B contains a NUL byte", false},
		},
	}, {
		name: "no user",
		src:  header + `services: [{name: "web", argv: ["/usr/bin/web"]}]` + "\n",
		want: []diagWant{{"m.cue:6:11", "missing required value services.0.user", true}},
	}, {
		name: "stop timeout 0s",
		src:  svc(`, stopTimeout: "0s"`),
		want: []diagWant{{"m.cue:6:81", "service web: stopTimeout 0s is not between 0s (exclusive) and 10m0s", false}},
	}, {
		name: "health busy loop",
		src:  header + `health: [{name: "h", kind: "exec", exec: argv: ["/bin/true"], interval: "0s", retries: 10000, startPeriod: "1000000h"}]` + "\n",
		want: []diagWant{
			{"m.cue:6:73", "health check h: interval 0s is below the minimum 100ms", false},
			{"m.cue:6:108", "health check h: startPeriod 1000000h0m0s is over the maximum 10m0s", false},
		},
	}, {
		name: "health waits too long",
		src:  header + `health: [{name: "h", kind: "exec", exec: argv: ["/bin/true"], retries: 1000}]` + "\n",
		want: []diagWant{{"m.cue:6:72", "health check h: a failing check would be waited for 1h40m6s", false}},
	}, {
		name: "retries over the maximum",
		src:  header + `health: [{name: "h", kind: "exec", exec: argv: ["/bin/true"], retries: 1000000000}]` + "\n",
		want: []diagWant{{"m.cue:6:72", "invalid value 1000000000 (out of bound <=10000)", true}},
	}, {
		name: "request path with a space",
		src: header + `ports: [{name: "http", number: 8080}]
health: [{name: "h", kind: "http", port: "http", http: path: "/a b"}]
`,
		want: []diagWant{{"m.cue:7:62", `the request path "/a b" contains a space`, false}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.LoadFiles(context.Background(), map[string][]byte{"m.cue": []byte(tt.src)}, manifest.Options{})
			var ds manifest.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("want diagnostics, got %v", err)
			}
			var got []diagWant
			for _, d := range ds {
				got = append(got, diagWant{d.Pos.String(), d.Summary, d.Hint != ""})
			}
			for i := range got {
				for _, w := range tt.want {
					if got[i].Pos == w.Pos && strings.Contains(got[i].Summary, w.Summary) {
						got[i].Summary = w.Summary
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s\nall:\n%v", diff, ds)
			}
		})
	}
}

func TestExplicitRootAndDefaultProbeUser(t *testing.T) {
	src := header + `services: [{name: "web", argv: ["/usr/sbin/web"], user: "root"}]
health: [{name: "a", kind: "exec", exec: argv: ["/bin/true"]}, {name: "b", kind: "exec", exec: {argv: ["/bin/true"], user: "root"}}]
`
	m, err := manifest.LoadFiles(context.Background(), map[string][]byte{"m.cue": []byte(src)}, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{m.Services[0].User, m.Health[0].Exec.User, m.Health[1].Exec.User}
	if diff := cmp.Diff([]string{"root", "nobody", "root"}, got); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

// TestParamDiagnostics: a value its parameter's constraint refuses is one
// diagnostic naming runtime.param; a value it allows that a rule refuses
// names the parameter after the rule's reason.
func TestParamDiagnostics(t *testing.T) {
	src := header + `params: {
	// The site's directory.
	root: =~"^/[a-z/]*$" | *"/srv/www"
	// The app's directory.
	app: *"/srv/app" | =~"^/"
}
files: [{path: "\(params.root)/index.html", content: ""}]
services: [{name: "web", argv: ["/usr/bin/web"], user: "www-data", workdir: params.app}]
`
	files := map[string][]byte{"m.cue": []byte(src)}
	tests := []struct {
		params map[string]any
		want   []diagWant
	}{
		{map[string]any{"root": "/srv/a\nb"}, []diagWant{{"m.cue:8:2", `parameter t.root: "/srv/a\nb" is not allowed: it must be =~"^/[a-z/]*$" | *"/srv/www"`, true}}},
		{map[string]any{"root": 8080}, []diagWant{{"m.cue:8:2", `parameter t.root: 8080 is not allowed: it must be`, true}}},
		{map[string]any{"root": "/var/lib/dpkg"}, []diagWant{{"m.cue:12:16",
			"/var/lib/dpkg/index.html lies in /var/lib/dpkg (dpkg's database), where plans may not write (from parameter t.root)", false}}},
		{map[string]any{"app": "/srv/\x00"}, []diagWant{{"m.cue:13:19", `service web: the working directory "/srv/\x00" contains a NUL byte (from parameter t.app)`, false}}},
		{map[string]any{"app": "/srv//a"}, []diagWant{{"m.cue:13:11", `workdir "/srv//a" is not clean (from parameter t.app)`, true}}},
	}
	for _, tt := range tests {
		_, err := manifest.LoadFiles(context.Background(), files, manifest.Options{Params: tt.params})
		var ds manifest.Diagnostics
		if !errors.As(err, &ds) {
			t.Fatalf("%v: want diagnostics, got %v", tt.params, err)
		}
		var got []diagWant
		for _, d := range ds {
			got = append(got, diagWant{d.Pos.String(), d.Summary, d.Hint != ""})
		}
		for i := range got {
			for _, w := range tt.want {
				if got[i].Pos == w.Pos && strings.Contains(got[i].Summary, w.Summary) {
					got[i].Summary = w.Summary
				}
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%v: diagnostics (-want +got):\n%s\nall:\n%v", tt.params, diff, ds)
		}
	}
}
