package unit_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// TestDurationJSON: a duration reads every Go duration string and writes
// what time.Duration.String writes, which is what plans and states have
// always held.
func TestDurationJSON(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		d       time.Duration
	}{
		{`"5s"`, `"5s"`, 5 * time.Second},
		{`"0s"`, `"0s"`, 0},
		{`"250ms"`, `"250ms"`, 250 * time.Millisecond},
		{`"1500ms"`, `"1.5s"`, 1500 * time.Millisecond},
		{`"1m"`, `"1m0s"`, time.Minute},
		{`"1h30m"`, `"1h30m0s"`, 90 * time.Minute},
	} {
		var d unit.Duration
		if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if d.Std() != tc.d {
			t.Errorf("%s read as %s, want %s", tc.in, d, tc.d)
		}
		b, err := json.Marshal(d)
		if err != nil || string(b) != tc.out {
			t.Errorf("%s written as %s %v, want %s", tc.in, b, err, tc.out)
		}
	}
}

// TestDurationRefuses: what is not a duration string is refused when the
// document is read, quoting it.
func TestDurationRefuses(t *testing.T) {
	for _, in := range []string{`"1"`, `"soon"`, `""`, `"10"`, `"99999999999999h"`, `5`, `null5`, `{"s":1}`} {
		var hc unit.HealthCheck
		err := json.Unmarshal([]byte(`{"name":"h","kind":"tcp","interval":`+in+`}`), &hc)
		if err == nil {
			t.Errorf("interval %s was accepted as %s", in, hc.Interval)
			continue
		}
		if strings.HasPrefix(in, `"`) && !strings.Contains(err.Error(), in) {
			t.Errorf("interval %s: the error %q does not quote it", in, err)
		}
	}
}

// TestStateBytes: a health check and a service as states record them read
// and write to the same bytes.
func TestStateBytes(t *testing.T) {
	for _, tc := range []struct {
		doc string
		v   any
	}{
		{`{"name":"nginx-http","kind":"http","service":"nginx","port":80,"path":"/","status":200,"interval":"1s","timeout":"5s","retries":3,"startPeriod":"0s"}`, &unit.HealthCheck{}},
		{`{"name":"node-runs","kind":"exec","argv":["/usr/bin/node","--version"],"user":"nobody","interval":"1s","timeout":"5s","retries":30,"startPeriod":"0s"}`, &unit.HealthCheck{}},
		{`{"name":"nginx","argv":["/usr/sbin/nginx","-g","daemon off;"],"user":"root","env":{"PORT":"80"},"restart":"always","stopSignal":"QUIT","stopTimeout":"10s"}`, &unit.Service{}},
		{`{"path":"/etc/nginx/nginx.conf","sha256":"00","mode":420,"owner":"root","group":"root","kind":"user-config"}`, &unit.File{}},
		{`{"name":"http","number":80,"protocol":"tcp"}`, &unit.Port{}},
	} {
		if err := json.Unmarshal([]byte(tc.doc), tc.v); err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.doc {
			t.Errorf("read and written again:\n got %s %v\nwant %s", b, err, tc.doc)
		}
	}
}

// TestEqualSeesEveryField changes each field of a unit in turn: Equal must
// tell every change apart, so a field added without Equal learning of it
// fails here.
func TestEqualSeesEveryField(t *testing.T) {
	svc := unit.Service{Name: "web", Argv: []string{"/bin/web"}, User: "root", Workdir: "/srv", Env: map[string]string{"A": "1"},
		Restart: unit.RestartAlways, StopSignal: "TERM", StopTimeout: unit.Duration(time.Second), DependsOn: []string{"db"}}
	hc := unit.HealthCheck{Name: "h", Kind: unit.HealthHTTP, Service: "web", Port: 80, Path: "/", Status: 200, Body: "ok",
		Argv: []string{"/bin/true"}, User: "nobody", Interval: unit.Duration(time.Second), Timeout: unit.Duration(time.Second),
		Retries: 3, StartPeriod: unit.Duration(time.Second)}
	file := unit.File{Path: "/etc/x", SHA256: "00", Mode: 0o644, Owner: "root", Group: "root", Kind: unit.FileManaged}
	port := unit.Port{Name: "http", Number: 80, Protocol: "tcp"}
	for _, v := range []any{svc, hc, file, port} {
		equal := reflect.ValueOf(v).MethodByName("Equal")
		call := func(a, b reflect.Value) bool { return equal.Call([]reflect.Value{b})[0].Bool() }
		orig := reflect.ValueOf(v)
		if !call(orig, orig) {
			t.Errorf("%T: a unit is not Equal to itself", v)
		}
		for i := range orig.NumField() {
			changed := reflect.New(orig.Type()).Elem()
			changed.Set(orig)
			f := changed.Field(i)
			switch f.Kind() {
			case reflect.String:
				f.SetString(f.String() + "x")
			case reflect.Int, reflect.Int64:
				f.SetInt(f.Int() + 1)
			case reflect.Uint32:
				f.SetUint(f.Uint() + 1)
			case reflect.Slice:
				f.Set(reflect.Append(reflect.MakeSlice(f.Type(), 0, 1), reflect.Zero(f.Type().Elem())))
			case reflect.Map:
				f.Set(reflect.MakeMap(f.Type()))
				f.SetMapIndex(reflect.ValueOf("B"), reflect.ValueOf("2"))
			default:
				t.Fatalf("%T.%s: no change made for a %s", v, orig.Type().Field(i).Name, f.Kind())
			}
			if call(orig, changed) {
				t.Errorf("%T: Equal misses a change of %s", v, orig.Type().Field(i).Name)
			}
		}
	}
}

// TestEqualEmptyIsNone: an empty list or map is the same as none, as in the
// JSON of a state.
func TestEqualEmptyIsNone(t *testing.T) {
	a := unit.Service{Name: "web", Argv: []string{"/bin/web"}}
	b := unit.Service{Name: "web", Argv: []string{"/bin/web"}, Env: map[string]string{}, DependsOn: []string{}}
	if !a.Equal(b) || !b.Equal(a) {
		t.Error("a service with empty env and dependsOn differs from one with none")
	}
	if !(unit.HealthCheck{Name: "h"}).Equal(unit.HealthCheck{Name: "h", Argv: []string{}}) {
		t.Error("a health check with an empty argv differs from one with none")
	}
}

func TestEnumsValid(t *testing.T) {
	for _, ok := range []bool{
		unit.RestartAlways.Valid(), unit.RestartOnFailure.Valid(), unit.RestartNever.Valid(), unit.RestartPolicy("").Valid(),
		unit.HealthHTTP.Valid(), unit.HealthTCP.Valid(), unit.HealthExec.Valid(),
		unit.FileManaged.Valid(), unit.FileUserConfig.Valid(),
	} {
		if !ok {
			t.Error("a declared constant is not Valid")
		}
	}
	if unit.RestartPolicy("sometimes").Valid() || unit.HealthKind("grpc").Valid() || unit.FileKind("").Valid() {
		t.Error("an unknown value is Valid")
	}
}
