package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// Step kinds.
const (
	KindVerifyBundle    = "verify-bundle"
	KindInstallPackages = "install-packages"
	KindRemovePackages  = "remove-packages"
	KindExtractArchive  = "extract-archive"
	KindRemoveArchive   = "remove-archive"
	KindWriteFile       = "write-file"
	KindRemoveFile      = "remove-file"
	KindInstallService  = "install-service"
	KindStartService    = "start-service"
	KindStopService     = "stop-service"
	KindRemoveService   = "remove-service"
	KindWaitHealth      = "wait-health"
	KindRecordState     = "record-state"
	KindInstallRelease  = "install-release"
	KindRemoveRelease   = "remove-release"
	KindSwitchRelease   = "switch-release"
)

// Step is one action of the plan. Its kind is that of its inputs: a step
// holds exactly one kind's inputs, so it cannot carry another kind's.
type Step struct {
	ID string
	// Runtime is the runtime the step serves; empty for shared steps.
	Runtime string
	// Needs are ids of earlier steps that must have completed.
	Needs  []string
	Inputs Inputs
}

// Kind is the step's kind ("" when it has no inputs).
func (s *Step) Kind() string {
	if s.Inputs == nil {
		return ""
	}
	return s.Inputs.Kind()
}

// Inputs are one step kind's parameters: one of the types below, each
// named for its kind. What undoes a step is the executor's business (its
// journal records what each undo needs), not the plan's.
type Inputs interface {
	// Kind is the step kind these inputs are for.
	Kind() string
	// Uses lists the bundle artifacts (SHA-256) the step reads.
	Uses() []string
	// problems are the plan rules this kind's inputs break.
	problems() state.Problems
}

// inputTypes are the step kinds, in the order Kinds lists them. A new kind
// is its type (below) and an entry here.
var inputTypes = []Inputs{
	&VerifyBundle{}, &InstallPackages{}, &RemovePackages{}, &ExtractArchive{}, &RemoveArchive{},
	&WriteFile{}, &RemoveFile{}, &InstallService{}, &StartService{}, &StopService{},
	&RemoveService{}, &WaitHealth{}, &RecordState{}, &InstallRelease{}, &RemoveRelease{},
	&SwitchRelease{},
}

// Kinds lists every step kind.
var Kinds = func() []string {
	out := make([]string, len(inputTypes))
	for i, in := range inputTypes {
		out[i] = in.Kind()
	}
	return out
}()

// NewInputs returns empty inputs of the kind, or false for a kind this
// package does not know.
func NewInputs(kind string) (Inputs, bool) {
	for _, in := range inputTypes {
		if in.Kind() == kind {
			return reflect.New(reflect.TypeOf(in).Elem()).Interface().(Inputs), true
		}
	}
	return nil, false
}

// VerifyBundle checks every artifact of the plan, by SHA-256, before
// anything changes.
type VerifyBundle struct {
	Artifacts []string `json:"artifacts"`
}

// InstallPackages installs Debian packages, in unpack order.
type InstallPackages struct {
	Packages []PackageRef `json:"packages"`
}

// RemovePackages removes Debian packages, in removal order.
type RemovePackages struct {
	Packages []PackageRef `json:"packages"`
	// Purge removes configuration files too.
	Purge bool `json:"purge,omitempty"`
}

// ExtractArchive extracts a bundle archive under its destination.
type ExtractArchive struct {
	Archive Archive `json:"archive"`
}

// RemoveArchive removes an extracted archive's destination.
type RemoveArchive struct {
	Archive Archive `json:"archive"`
}

// WriteFile writes a file.
type WriteFile struct {
	File File `json:"file"`
}

// RemoveFile removes a file runtimekit wrote, if it still has the bytes
// runtimekit wrote.
type RemoveFile struct {
	File File `json:"file"`
}

// InstallService installs (or replaces) a supervised service's definition.
type InstallService struct {
	Service state.Service `json:"service"`
}

// StartService enables and starts an installed service.
type StartService struct {
	ServiceName string `json:"serviceName"`
}

// StopService stops a service (it stays installed).
type StopService struct {
	ServiceName string `json:"serviceName"`
}

// RemoveService removes a service's definition; Service is the one the
// machine has, as the state records it.
type RemoveService struct {
	Service state.Service `json:"service"`
}

// WaitHealth waits until a health check passes.
type WaitHealth struct {
	Health state.HealthCheck `json:"health"`
}

// RecordState writes the state: the runtimes and apps after the plan.
type RecordState struct {
	Runtimes []state.Runtime `json:"runtimes"`
	Apps     []state.App     `json:"apps,omitempty"`
}

// InstallRelease puts release N of an app in place, beside the releases
// it has: the app's user (created when missing), state.ReleaseDir (the
// files of the bundle's release archive, and the unchanged ones linked
// from an earlier release) and state.EnvPath (the bundle's env file). A
// release directory that exists is never written again.
type InstallRelease struct {
	App     string        `json:"app"`
	User    string        `json:"user"`
	Release state.Release `json:"release"`
	// Tar is the SHA-256 of the bundle's tar of the release files not
	// linked; empty when every file is linked.
	Tar string `json:"tar,omitempty"`
	// Base is the earlier release Linked files come from: release path
	// to the path of the same bytes in Base.
	Base   int               `json:"base,omitempty"`
	Linked map[string]string `json:"linked,omitempty"`
}

// SwitchRelease makes a started, healthy release the app's live one
// (Number 0: none, the app goes offline):
// state.AppDir's "current" link and "live" file (what routes requests to
// the app) name it, then Drain passes before the steps after it stop the
// release that was live.
type SwitchRelease struct {
	App    string        `json:"app"`
	Number int           `json:"number"`
	Port   int           `json:"port"`
	Drain  unit.Duration `json:"drain"`
}

// RemoveRelease removes a release of an app that is not live (its
// directory and env file); the bytes stay until the apply is committed.
type RemoveRelease struct {
	App    string `json:"app"`
	Number int    `json:"number"`
}

func (*VerifyBundle) Kind() string    { return KindVerifyBundle }
func (*InstallPackages) Kind() string { return KindInstallPackages }
func (*RemovePackages) Kind() string  { return KindRemovePackages }
func (*ExtractArchive) Kind() string  { return KindExtractArchive }
func (*RemoveArchive) Kind() string   { return KindRemoveArchive }
func (*WriteFile) Kind() string       { return KindWriteFile }
func (*RemoveFile) Kind() string      { return KindRemoveFile }
func (*InstallService) Kind() string  { return KindInstallService }
func (*StartService) Kind() string    { return KindStartService }
func (*StopService) Kind() string     { return KindStopService }
func (*RemoveService) Kind() string   { return KindRemoveService }
func (*WaitHealth) Kind() string      { return KindWaitHealth }
func (*RecordState) Kind() string     { return KindRecordState }
func (*InstallRelease) Kind() string  { return KindInstallRelease }
func (*RemoveRelease) Kind() string   { return KindRemoveRelease }
func (*SwitchRelease) Kind() string   { return KindSwitchRelease }

func (in *VerifyBundle) Uses() []string { return in.Artifacts }
func (in *InstallPackages) Uses() []string {
	out := make([]string, len(in.Packages))
	for i, p := range in.Packages {
		out[i] = p.SHA256
	}
	return out
}
func (*RemovePackages) Uses() []string    { return nil }
func (in *ExtractArchive) Uses() []string { return []string{in.Archive.SHA256} }
func (*RemoveArchive) Uses() []string     { return nil }
func (*WriteFile) Uses() []string         { return nil }
func (*RemoveFile) Uses() []string        { return nil }
func (*InstallService) Uses() []string    { return nil }
func (*StartService) Uses() []string      { return nil }
func (*StopService) Uses() []string       { return nil }
func (*RemoveService) Uses() []string     { return nil }
func (*WaitHealth) Uses() []string        { return nil }
func (*RecordState) Uses() []string       { return nil }
func (*RemoveRelease) Uses() []string     { return nil }
func (*SwitchRelease) Uses() []string     { return nil }
func (in *InstallRelease) Uses() []string {
	var out []string
	for _, sum := range []string{in.Tar, in.Release.EnvSHA256} {
		if sum != "" {
			out = append(out, sum)
		}
	}
	return out
}
func (*VerifyBundle) problems() state.Problems { return nil }
func (*StartService) problems() state.Problems { return nil }
func (*StopService) problems() state.Problems  { return nil }

func (in *InstallPackages) problems() state.Problems {
	var ps state.Problems
	for i, pk := range in.Packages {
		if pk.SHA256 == "" {
			ps = append(ps, state.Problem{Field: fmt.Sprintf("inputs/packages/%d/sha256", i),
				Reason: fmt.Sprintf("package %s has no sha256", pk.Name)})
		}
	}
	return ps
}

func (in *RemovePackages) problems() state.Problems {
	var ps state.Problems
	for i, pk := range in.Packages {
		if CorePackage(pk.Name) {
			ps = append(ps, state.Problem{Field: fmt.Sprintf("inputs/packages/%d/name", i), Value: pk.Name,
				Reason: fmt.Sprintf("package %s is part of Debian's base system: plans never remove it", pk.Name)})
		}
	}
	return ps
}

func (in *ExtractArchive) problems() state.Problems {
	return CheckArchive(in.Archive).Under("inputs/archive")
}
func (in *RemoveArchive) problems() state.Problems {
	return CheckArchive(in.Archive).Under("inputs/archive")
}
func (in *WriteFile) problems() state.Problems { return CheckFile(in.File, true).Under("inputs/file") }
func (in *RemoveFile) problems() state.Problems {
	return CheckFile(in.File, false).Under("inputs/file")
}

func (in *InstallService) problems() state.Problems {
	return state.CheckService(in.Service).Under("inputs/service")
}

// A removed service is the machine's already (and a rollback puts back
// the definition it had there, not the plan's).
func (*RemoveService) problems() state.Problems { return nil }

func (in *WaitHealth) problems() state.Problems { return CheckHealth(in.Health).Under("inputs/health") }

func (in *RecordState) problems() state.Problems {
	ps := state.CheckRuntimes(in.Runtimes).Under("inputs/runtimes")
	return append(ps, state.CheckApps(in.Apps).Under("inputs/apps")...)
}

func (in *InstallRelease) problems() state.Problems {
	var ps state.Problems
	add := func(field, value, reason string) {
		ps = append(ps, state.Problem{Field: "inputs/" + field, Value: value, Reason: reason})
	}
	if why := state.CheckAppName(in.App); why != "" {
		add("app", in.App, "the app name "+why)
	}
	// Every path of the release stays inside its directory.
	ps = append(ps, state.CheckRelease(in.Release).Under("inputs/release")...)
	if in.User == "root" || state.CheckUser(in.User) != "" {
		add("user", in.User, "an app runs as its own user, a valid user name other than root")
	}
	if in.Release.Number < 1 {
		add("release/number", fmt.Sprint(in.Release.Number), "release numbers start at 1")
	}
	files := map[string]state.ReleaseFile{}
	for _, f := range in.Release.Files {
		files[f.Path] = f
	}
	if len(in.Linked) > 0 && (in.Base < 1 || in.Base >= in.Release.Number) {
		add("base", fmt.Sprint(in.Base), "linked files come from an earlier release")
	}
	for p, from := range in.Linked {
		if f, ok := files[p]; !ok || f.Link != "" {
			add("linked", p, "a linked path is a file of the release")
		}
		if why := state.CheckReleasePath(from); why != "" {
			add("linked", from, "the linked file's path "+why)
		}
	}
	return ps
}

func (in *SwitchRelease) problems() state.Problems {
	var ps state.Problems
	if why := state.CheckName(in.App); why != "" {
		ps = append(ps, state.Problem{Field: "inputs/app", Value: in.App, Reason: "the app name " + why})
	}
	if in.Drain < 0 || in.Drain.Std() > 5*time.Minute {
		ps = append(ps, state.Problem{Field: "inputs/drain", Value: in.Drain.Std().String(), Reason: "a drain is 0 to 5 minutes"})
	}
	return ps
}

func (in *RemoveRelease) problems() state.Problems {
	if why := state.CheckName(in.App); why != "" {
		return state.Problems{{Field: "inputs/app", Value: in.App, Reason: "the app name " + why}}
	}
	return nil
}

// stepJSON is a step as plan files hold it.
type stepJSON struct {
	ID      string          `json:"id"`
	Kind    string          `json:"kind"`
	Runtime string          `json:"runtime,omitempty"`
	Needs   []string        `json:"needs"`
	Inputs  json.RawMessage `json:"inputs"`
}

// MarshalJSON writes the step with its kind beside its inputs.
func (s Step) MarshalJSON() ([]byte, error) {
	if s.Inputs == nil {
		return nil, fmt.Errorf("step %s has no inputs", s.ID)
	}
	in, err := encodeNoEscape(s.Inputs)
	if err != nil {
		return nil, err
	}
	needs := s.Needs
	if needs == nil {
		needs = []string{}
	}
	return encodeNoEscape(stepJSON{ID: s.ID, Kind: s.Inputs.Kind(), Runtime: s.Runtime, Needs: needs, Inputs: in})
}

// UnmarshalJSON reads a step, decoding its inputs into its kind's type:
// an unknown kind, or a field the kind does not take, is an error.
func (s *Step) UnmarshalJSON(b []byte) error {
	var w stepJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	in, ok := NewInputs(w.Kind)
	if !ok {
		return fmt.Errorf("step %s: unknown kind %q (this runtimectl knows %v)", w.ID, w.Kind, Kinds)
	}
	if len(w.Inputs) == 0 {
		return fmt.Errorf("step %s: no inputs", w.ID)
	}
	dec = json.NewDecoder(bytes.NewReader(w.Inputs))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return fmt.Errorf("step %s (%s): inputs: %w", w.ID, w.Kind, err)
	}
	*s = Step{ID: w.ID, Runtime: w.Runtime, Needs: w.Needs, Inputs: in}
	return nil
}

// encodeNoEscape is json.Marshal without HTML escaping: file contents
// keep their < and & (schema.Encode, which writes the whole plan, does
// not undo the escaping of what a MarshalJSON returns).
func encodeNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
