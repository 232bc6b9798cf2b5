package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runtimekit/runtimekit/sdk/plan"
	"github.com/runtimekit/runtimekit/sdk/service"
	"github.com/runtimekit/runtimekit/sdk/state"
)

// install-service, start-service, stop-service and remove-service. The
// runit supervisor around them is services.go.

func init() {
	register[*plan.InstallService, serviceUndo](installService{})
	register[*plan.StartService, serviceUndo](startService{})
	register[*plan.StopService, serviceUndo](stopService{})
	register[*plan.RemoveService, serviceUndo](removeService{})
}

// serviceUndo is what a service step's undo needs: the definition
// installed before (install, remove), whether the service was enabled and
// up, whether no runsvdir ran before the step (start, remove), and the
// directories the step created (parents first).
type serviceUndo struct {
	Service        *state.Service `json:"service,omitempty"`
	WasEnabled     bool           `json:"wasEnabled,omitempty"`
	WasUp          bool           `json:"wasUp,omitempty"`
	SupervisorDown bool           `json:"supervisorDown,omitempty"`
	Created        []string       `json:"created,omitempty"`
}

type installService struct{}

func (installService) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.InstallService, u *serviceUndo) error {
	name := in.Service.Name
	if err := u.recordInstalled(ctx, r, name); err != nil {
		return err
	}
	if u.Service == nil {
		var err error
		if u.Created, err = r.serviceDirs(name, false); err != nil {
			return err
		}
	}
	return nil
}

func (installService) do(ctx context.Context, r *run, s *plan.Step, in *plan.InstallService, u *serviceUndo) error {
	return r.e.opts.Services.Install(ctx, in.Service)
}

func (installService) undo(ctx context.Context, r *run, s *plan.Step, in *plan.InstallService, u *serviceUndo) error {
	svc := r.e.opts.Services
	if u.Service != nil {
		return svc.Install(ctx, *u.Service)
	}
	if err := svc.Remove(ctx, in.Service.Name); err != nil {
		return err
	}
	r.removeCreated(u.Created)
	return nil
}

type startService struct{}

func (startService) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.StartService, u *serviceUndo) error {
	if err := r.serviceState(ctx, in.ServiceName, u); err != nil {
		return err
	}
	_, running := r.supervisorPID()
	u.SupervisorDown = !running
	var err error
	u.Created, err = r.serviceDirs(in.ServiceName, true)
	return err
}

func (startService) do(ctx context.Context, r *run, s *plan.Step, in *plan.StartService, u *serviceUndo) error {
	svc := r.e.opts.Services
	if _, err := svc.EnsureSupervisor(ctx); err != nil {
		return err
	}
	return svc.Start(ctx, in.ServiceName)
}

func (startService) undo(ctx context.Context, r *run, s *plan.Step, in *plan.StartService, u *serviceUndo) error {
	svc := r.e.opts.Services
	name := in.ServiceName
	var err error
	if !u.WasUp {
		err = ignoreNotInstalled(svc.Stop(ctx, name))
	}
	if !u.WasEnabled && err == nil {
		err = svc.Disable(ctx, name)
	}
	if u.SupervisorDown {
		// Whatever the service did, the runsvdir this apply started
		// goes, with every process under it.
		return errors.Join(err, r.stopSupervisor(ctx, u.Created))
	}
	if err != nil {
		return err
	}
	r.removeCreated(u.Created)
	return nil
}

func (startService) effects() effects { return effects{startsServices: true} }

func (startService) checkUndone(ctx context.Context, r *run, s *plan.Step, in *plan.StartService, u *serviceUndo, add func(string, ...any)) {
	st, err := r.e.opts.Services.Status(ctx, in.ServiceName)
	if err == nil && st.Up && !u.WasUp {
		add("service %s is still running (pid %d)", in.ServiceName, st.PID)
	} else if err != nil && !errors.Is(err, service.ErrNotInstalled) {
		add("service %s: %v", in.ServiceName, err)
	}
	// Whether the runsvdir this apply started is still running is
	// checked once, after every step (verify.go).
	r.startedSupervisor = r.startedSupervisor || u.SupervisorDown
}

type stopService struct{}

func (stopService) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.StopService, u *serviceUndo) error {
	return r.serviceState(ctx, in.ServiceName, u)
}

func (stopService) do(ctx context.Context, r *run, s *plan.Step, in *plan.StopService, u *serviceUndo) error {
	return ignoreNotInstalled(r.e.opts.Services.Stop(ctx, in.ServiceName))
}

func (stopService) undo(ctx context.Context, r *run, s *plan.Step, in *plan.StopService, u *serviceUndo) error {
	if !u.WasUp {
		return nil
	}
	svc := r.e.opts.Services
	if _, err := svc.EnsureSupervisor(ctx); err != nil {
		return err
	}
	return svc.Start(ctx, in.ServiceName)
}

type removeService struct{}

func (removeService) prepare(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveService, u *serviceUndo) error {
	if err := u.recordInstalled(ctx, r, in.Service.Name); err != nil {
		return err
	}
	_, running := r.supervisorPID()
	u.SupervisorDown = !running
	return nil
}

func (removeService) do(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveService, u *serviceUndo) error {
	if err := r.e.opts.Services.Remove(ctx, in.Service.Name); err != nil {
		return err
	}
	// runsvdir with nothing left to supervise goes too: the runit
	// package may be purged next.
	return r.stopSupervisor(ctx, nil)
}

func (removeService) undo(ctx context.Context, r *run, s *plan.Step, in *plan.RemoveService, u *serviceUndo) error {
	if u.Service == nil {
		return nil
	}
	svc := r.e.opts.Services
	name := u.Service.Name
	if err := svc.Install(ctx, *u.Service); err != nil {
		return err
	}
	if !u.SupervisorDown || u.WasEnabled {
		if _, err := svc.EnsureSupervisor(ctx); err != nil {
			return err
		}
	}
	if !u.WasEnabled {
		return nil
	}
	if u.WasUp {
		return svc.Start(ctx, name)
	}
	if err := svc.Enable(ctx, name); err != nil {
		return err
	}
	return ignoreNotInstalled(svc.Stop(ctx, name))
}

func (removeService) check(r *run, s *plan.Step, in *plan.RemoveService, pf *preflight) {
	if !pf.led.services[in.Service.Name] {
		pf.add(s.ID, "", "service %s: %s", in.Service.Name, notOwned)
	}
}

func (startService) check(r *run, s *plan.Step, in *plan.StartService, pf *preflight) {
	r.checkRunsOwnService(s, in.ServiceName, pf)
}

func (stopService) check(r *run, s *plan.Step, in *plan.StopService, pf *preflight) {
	r.checkRunsOwnService(s, in.ServiceName, pf)
}

func (r *run) checkRunsOwnService(s *plan.Step, name string, pf *preflight) {
	if !pf.led.services[name] && !r.plannedService(name) {
		pf.add(s.ID, "", "service %s: neither the state nor the plan installs it, and a plan may run only services runtimekit installed", name)
	}
}

// recordInstalled records the service's definition as installed now (nil
// when it is not) and whether it is enabled and up.
func (u *serviceUndo) recordInstalled(ctx context.Context, r *run, name string) error {
	prev, err := r.installedService(name)
	if err != nil {
		return err
	}
	u.Service = prev
	return r.serviceState(ctx, name, u)
}

func (r *run) installedService(name string) (*state.Service, error) {
	b, err := os.ReadFile(filepath.Join(r.e.opts.Services.Dir(name), "runtimekit.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var svc state.Service
	if err := json.Unmarshal(b, &svc); err != nil {
		return nil, fmt.Errorf("service %s: its runtimekit.json: %w", name, err)
	}
	return &svc, nil
}

func (r *run) serviceState(ctx context.Context, name string, u *serviceUndo) error {
	st, err := r.e.opts.Services.Status(ctx, name)
	if errors.Is(err, service.ErrNotInstalled) {
		return nil
	}
	if err != nil {
		return err
	}
	u.WasEnabled = st.Enabled
	u.WasUp = st.Up && st.WantUp
	return nil
}

func ignoreNotInstalled(err error) error {
	if errors.Is(err, service.ErrNotInstalled) {
		return nil
	}
	return err
}

// plannedService reports whether an install-service step of the plan
// installs the service.
func (r *run) plannedService(name string) bool {
	for _, s := range r.plan.Steps {
		if in, ok := s.Inputs.(*plan.InstallService); ok && in.Service.Name == name {
			return true
		}
	}
	return false
}
