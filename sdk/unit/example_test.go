package unit_test

import (
	"encoding/json"
	"fmt"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// A health check as a plan carries it: its durations are parsed when the
// document is read, and written back as time.Duration writes them.
func ExampleHealthCheck() {
	var hc unit.HealthCheck
	doc := `{"name":"nginx-http","kind":"http","port":80,"path":"/","interval":"1s","timeout":"5s","retries":3,"startPeriod":"1500ms"}`
	if err := json.Unmarshal([]byte(doc), &hc); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(hc.Kind == unit.HealthHTTP, hc.Timeout.Std().Seconds(), hc.StartPeriod)
	out, _ := json.Marshal(hc)
	fmt.Println(string(out))
	// Output:
	// true 5 1.5s
	// {"name":"nginx-http","kind":"http","port":80,"path":"/","interval":"1s","timeout":"5s","retries":3,"startPeriod":"1.5s"}
}
