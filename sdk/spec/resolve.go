package spec

import (
	"fmt"
	"sort"
	"strings"

	"github.com/runtimekit/runtimekit/sdk/unit"
)

// ResolveService is the service as plans carry it and states record it:
// the runtime's env under the service's own.
func (m *Manifest) ResolveService(s Service) unit.Service {
	env := map[string]string{}
	for k, v := range m.Env {
		env[k] = v
	}
	for k, v := range s.Env {
		env[k] = v
	}
	if len(env) == 0 {
		env = nil
	}
	s.Env = env
	return s
}

// PortNumbers maps the manifest's port names to their numbers.
func (m *Manifest) PortNumbers() map[string]int {
	ports := make(map[string]int, len(m.Ports))
	for _, p := range m.Ports {
		ports[p.Name] = p.Number
	}
	return ports
}

// Resolve is the health check as plans carry it and states record it: its
// port name resolved to the number in ports, its probe's fields flattened.
func (h HealthCheck) Resolve(ports map[string]int) unit.HealthCheck {
	hc := unit.HealthCheck{Name: h.Name, Kind: h.Kind, Service: h.Service, Port: ports[h.Port],
		Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod}
	if h.HTTP != nil {
		hc.Path, hc.Status, hc.Body = h.HTTP.Path, h.HTTP.Status, h.HTTP.Body
	}
	if h.Exec != nil {
		hc.Argv, hc.User = h.Exec.Argv, h.Exec.User
	}
	return hc
}

// Unit is the port as states record it.
func (p Port) Unit() unit.Port {
	return unit.Port{Name: p.Name, Number: p.Number, Protocol: p.Protocol}
}

// HealthField maps a field of a resolved health check to where the
// manifest writes it ("user" is exec/user, "path" is http/path).
func HealthField(f string) string {
	head, rest, _ := strings.Cut(f, "/")
	switch head {
	case "argv", "user":
		return "exec/" + f
	case "path", "status", "body":
		return "http/" + head + strings.TrimPrefix("/"+rest, "/")
	}
	return f
}

// Relation writes a Debian package request as a Debian relation, "name
// (>= 1.2)", as locks record it.
func (p DebianPackage) Relation() string {
	if p.Version == "" {
		return p.Name
	}
	// The schema allows "OP VERSION" with or without the space.
	for _, op := range []string{"<<", "<=", ">=", ">>", "="} {
		if v, ok := strings.CutPrefix(p.Version, op); ok {
			return fmt.Sprintf("%s (%s %s)", p.Name, op, strings.TrimSpace(v))
		}
	}
	return fmt.Sprintf("%s (%s)", p.Name, p.Version)
}

// ParamNote names the user parameters whose value a diagnosed value
// carries, as " (from parameter nginx.root)", or "": a problem a
// parameter caused is the user's to fix, not the manifest author's.
// Only string parameters are matched (a number could be anywhere).
func ParamNote(runtime string, params map[string]any, value string) string {
	var names []string
	for n, v := range params {
		if s, ok := v.(string); ok && s != "" && strings.Contains(value, s) {
			names = append(names, runtime+"."+n)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	what := "parameter "
	if len(names) > 1 {
		what = "parameters "
	}
	return " (from " + what + strings.Join(names, ", ") + ")"
}
