package executor

import (
	"context"
	"errors"
	"time"

	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Report is what is installed on the machine and how it is doing.
type Report struct {
	Target   string          `json:"target"`
	Lineage  string          `json:"lineage"`
	Serial   int64           `json:"serial"`
	Runtimes []RuntimeReport `json:"runtimes"`
	Apps     []AppReport     `json:"apps"`
	// Interrupted describes an apply that was interrupted and not yet
	// recovered.
	Interrupted *Pending `json:"interrupted,omitempty"`
	// Journal says why the journal of an interrupted apply cannot be
	// read; the report is then never healthy.
	Journal string `json:"journal,omitempty"`
	// Healthy is true when every service is up and every check passed.
	Healthy bool `json:"healthy"`
}

// Pending is an interrupted apply, from its journal.
type Pending struct {
	PlanDigest string    `json:"planDigest"`
	PID        int       `json:"pid"`
	Started    time.Time `json:"started"`
	Mode       string    `json:"mode"`
	Step       string    `json:"step"`
}

// RuntimeReport is one installed runtime.
type RuntimeReport struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Auto     bool            `json:"auto,omitempty"`
	Services []ServiceReport `json:"services"`
	Health   []HealthReport  `json:"health"`
	Ports    []state.Port    `json:"ports"`
}

// AppReport is one deployed app: its live release and that release's
// processes and checks.
type AppReport struct {
	Name     string          `json:"name"`
	Runtime  string          `json:"runtime"`
	Live     int             `json:"live"`
	Port     int             `json:"port"`
	Releases []int           `json:"releases"`
	Services []ServiceReport `json:"services"`
	Health   []HealthReport  `json:"health"`
}

// ServiceReport is a service's supervision state.
type ServiceReport struct {
	Name       string     `json:"name"`
	Up         bool       `json:"up"`
	State      string     `json:"state"` // down, run, finish, or not-installed
	PID        int        `json:"pid,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
	UptimeSec  float64    `json:"uptimeSeconds,omitempty"`
	Enabled    bool       `json:"enabled"`
	Supervised bool       `json:"supervised"`
	WantUp     bool       `json:"wantUp"`
	// RSSKiB is the resident memory of the service's process and its
	// descendants, when it runs.
	RSSKiB int64  `json:"rssKiB,omitempty"`
	Error  string `json:"error,omitempty"`
}

// HealthReport is the outcome of one probe of a health check.
type HealthReport struct {
	Name    string          `json:"name"`
	Kind    unit.HealthKind `json:"kind"`
	Target  string          `json:"target"`
	Healthy bool            `json:"healthy"`
	Reason  string          `json:"reason,omitempty"`
	Took    time.Duration   `json:"took"`
}

// Status reads the state file and reports each runtime's services (from
// runit's status files; no process is spawned for them) and one probe of
// each health check. It takes no lock and changes nothing.
func (e *Executor) Status(ctx context.Context) (*Report, error) {
	f, err := openFSRoot(e.opts.Root)
	if err != nil {
		return nil, err
	}
	defer f.close()
	rel, err := f.resolve(e.opts.StatePath)
	if err != nil {
		return nil, err
	}
	st, _, err := loadState(f, rel)
	if err != nil {
		return nil, err
	}
	rep := &Report{Target: st.Target, Lineage: st.Lineage, Serial: st.Serial, Runtimes: []RuntimeReport{}, Healthy: true}
	switch j, err := f.loadJournal(); {
	case err != nil:
		// Whatever the state says, an apply was interrupted and nothing
		// tells how far it got.
		rep.Journal = err.Error()
		rep.Healthy = false
	case j != nil:
		ie := interrupted(j)
		rep.Interrupted = &Pending{PlanDigest: ie.PlanDigest, PID: ie.PID, Started: ie.Started, Mode: ie.Mode, Step: ie.Step}
		rep.Healthy = false
	}
	now := time.Now()
	for _, rt := range st.Runtimes {
		rr := RuntimeReport{Name: rt.Name, Version: rt.Version, Auto: rt.Auto, Ports: rt.Ports}
		if rr.Ports == nil {
			rr.Ports = []state.Port{}
		}
		rr.Services, rr.Health = e.probe(ctx, rep, now, rt.Services, rt.Health)
		rep.Runtimes = append(rep.Runtimes, rr)
	}
	rep.Apps = []AppReport{}
	for _, a := range st.Apps {
		ar := AppReport{Name: a.Name, Runtime: a.Runtime, Live: a.Live, Port: a.Port, Releases: []int{}}
		for _, rel := range a.Releases {
			ar.Releases = append(ar.Releases, rel.Number)
		}
		ar.Services, ar.Health = e.probe(ctx, rep, now, a.Services, a.Health)
		rep.Apps = append(rep.Apps, ar)
	}
	return rep, nil
}

// probe reports the services (from runit's status files) and one probe
// of each check, marking rep unhealthy when one is down or failing.
func (e *Executor) probe(ctx context.Context, rep *Report, now time.Time, svcs []state.Service, checks []state.HealthCheck) ([]ServiceReport, []HealthReport) {
	srs, hrs := []ServiceReport{}, []HealthReport{}
	for _, svc := range svcs {
		sr := ServiceReport{Name: svc.Name, State: "not-installed"}
		s, err := e.opts.Services.Status(ctx, svc.Name)
		switch {
		case errors.Is(err, service.ErrNotInstalled):
		case err != nil:
			sr.Error = err.Error()
		default:
			sr.State = string(s.State)
			sr.Up, sr.PID, sr.Enabled, sr.Supervised, sr.WantUp = s.Up, s.PID, s.Enabled, s.Supervised, s.WantUp
			if s.Supervised && !s.Since.IsZero() {
				since := s.Since.UTC()
				sr.Since = &since
				if s.Up {
					sr.UptimeSec = now.Sub(s.Since).Round(time.Second).Seconds()
				}
			}
			if s.Up && s.PID > 0 {
				sr.RSSKiB = service.TreeRSSKiB(s.PID)
			}
		}
		if !sr.Up {
			rep.Healthy = false
		}
		srs = append(srs, sr)
	}
	for _, hc := range checks {
		res, err := service.Prober{Root: e.opts.Root}.Probe(ctx, hc)
		hr := HealthReport{Name: hc.Name, Kind: hc.Kind, Target: res.Target, Healthy: res.Healthy, Reason: res.Reason, Took: res.Took}
		if err != nil {
			hr.Healthy, hr.Reason = false, err.Error()
		}
		if !hr.Healthy {
			rep.Healthy = false
		}
		hrs = append(hrs, hr)
	}
	return srs, hrs
}

// LogPath returns the directory of a service's log (svlogd writes the
// file "current" in it).
func (e *Executor) LogPath(name string) string { return e.opts.Services.LogPath(name) }
