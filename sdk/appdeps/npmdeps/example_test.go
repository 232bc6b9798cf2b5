package npmdeps_test

import (
	"errors"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/appdeps/npmdeps"
)

func ExampleCheck() {
	lock := []byte(`{
  "name": "app", "version": "1.0.0", "lockfileVersion": 3,
  "packages": {
    "": {"name": "app", "version": "1.0.0", "dependencies": {"bcrypt": "^5.1.1", "ms": "^2.1.3"}},
    "node_modules/bcrypt": {"version": "5.1.1", "integrity": "sha512-AAAA", "hasInstallScript": true,
      "dependencies": {"node-addon-api": "^5.0.0"}},
    "node_modules/node-addon-api": {"version": "5.1.0", "integrity": "sha512-BBBB"},
    "node_modules/ms": {"version": "2.1.3", "integrity": "sha512-CCCC"}
  }
}`)
	_, err := npmdeps.Check(lock, "package-lock.json", nil)
	var refused *npmdeps.RefusedError
	if errors.As(err, &refused) {
		fmt.Println(err)
	}

	// Allowed, bcrypt gets through; Install would still refuse its
	// compiled file unless it is an i386 ELF.
	l, err := npmdeps.Check(lock, "package-lock.json", []string{"bcrypt"})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Name, l.Version, l.Packages)
	// Output:
	// bcrypt@5.1.1 (node_modules/bcrypt): native addon: its install script builds or downloads its compiled part (it depends on node-addon-api)
	// install scripts are not run for the VM: allow a package explicitly if it works without its script
	// app 1.0.0 [bcrypt@5.1.1 ms@2.1.3 node-addon-api@5.1.0]
}
