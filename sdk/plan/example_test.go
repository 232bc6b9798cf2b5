package plan_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/runtimekit/runtimekit/sdk/plan"
)

// A plan file is parsed (schema, then the plan rules), and its steps are
// read by kind: each step holds its own kind's inputs.
func Example() {
	b, err := os.ReadFile("../planner/testdata/golden/webvm-i386-nginx.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := plan.Parse(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range p.Steps {
		switch in := s.Inputs.(type) {
		case *plan.InstallPackages:
			fmt.Printf("%s: %d packages, first %s\n", s.ID, len(in.Packages), in.Packages[0].Name)
		case *plan.WriteFile:
			fmt.Printf("%s: mode %o, %s\n", s.ID, in.File.Mode, in.File.Kind)
		case *plan.WaitHealth:
			fmt.Printf("%s: %s check on port %d\n", s.ID, in.Health.Kind, in.Health.Port)
		default:
			fmt.Println(s.ID)
		}
	}
	// Output:
	// verify-bundle
	// install-packages: 22 packages, first libelf1
	// write-file:/etc/runtimekit/nginx/nginx.conf: mode 644, managed
	// write-file:/srv/www/index.html: mode 644, user-config
	// install-service:nginx
	// start-service:nginx
	// wait-health:nginx/nginx-http: http check on port 80
	// record-state
}

// Plans made by an older runtimectl are refused with what to do.
func ExampleParse_olderFormat() {
	_, err := plan.Parse([]byte(`{"formatVersion": 1, "steps": []}`))
	var ve *plan.VersionError
	fmt.Println(errors.As(err, &ve), ve.Found)
	fmt.Println(err)
	// Output:
	// true 1
	// this plan is format 1, made by an older runtimectl; this one reads format 2 only: make the plan again with this runtimectl (runtimectl plan ... -o plan.json) and bundle it again
}
