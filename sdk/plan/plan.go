package plan

import (
	"github.com/runtimekit/runtimekit/sdk/state"
	"github.com/runtimekit/runtimekit/sdk/unit"
)

// FormatVersion is the plan format this package reads and writes.
const FormatVersion = 1

// Plan is a step plan.
type Plan struct {
	FormatVersion int        `json:"formatVersion"`
	Target        Target     `json:"target"`
	State         StateRef   `json:"state"`
	Artifacts     []Artifact `json:"artifacts"`
	Summary       Summary    `json:"summary"`
	Steps         []Step     `json:"steps"`
}

// Target identifies the machine profile the plan is for.
type Target struct {
	Name       string `json:"name"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	DebianArch string `json:"debianArch"`
	Release    string `json:"release"`
}

// StateRef is the state a plan was made against. An empty lineage with
// serial 0 means a machine runtimekit has not touched.
type StateRef struct {
	Lineage string `json:"lineage"`
	Serial  int64  `json:"serial"`
}

// Artifact kinds.
const (
	ArtifactDeb     = "deb"
	ArtifactNPM     = "npm"
	ArtifactArchive = "archive"
)

// Artifact is a file the plan needs from the bundle, named by SHA-256.
type Artifact struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Version   string `json:"version,omitempty"`
	Arch      string `json:"arch,omitempty"`      // deb
	Filename  string `json:"filename,omitempty"`  // deb: path below the mirror root
	URL       string `json:"url,omitempty"`       // archive
	Integrity string `json:"integrity,omitempty"` // npm
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
}

// Summary is what the plan changes, for people.
type Summary struct {
	Add       []RuntimeChange `json:"add"`
	Remove    []RuntimeChange `json:"remove"`
	Keep      []RuntimeChange `json:"keep"`
	Packages  PackageChanges  `json:"packages"`
	Ports     []PortUse       `json:"ports"`
	Services  []string        `json:"services"`
	MemoryMiB Budget          `json:"memoryMiB"`
	DiskMiB   Budget          `json:"diskMiB"`
	Notes     []string        `json:"notes"`
}

// RuntimeChange is a runtime added, removed or kept.
type RuntimeChange struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Auto marks a runtime added only because another requires it.
	Auto   bool   `json:"auto,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PackageChanges lists Debian packages installed and removed.
type PackageChanges struct {
	Install []state.Package `json:"install"`
	Remove  []state.Package `json:"remove"`
}

// PortUse is a port in use after the plan, and by whom.
type PortUse struct {
	Number   int    `json:"number"`
	Protocol string `json:"protocol"`
	Runtime  string `json:"runtime"`
	Name     string `json:"name"`
}

// Budget compares use before and after with the target's budget.
type Budget struct {
	Before int `json:"before"`
	After  int `json:"after"`
	Budget int `json:"budget"`
}

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
)

// Kinds lists every step kind.
var Kinds = []string{
	KindVerifyBundle, KindInstallPackages, KindRemovePackages, KindExtractArchive, KindRemoveArchive,
	KindWriteFile, KindRemoveFile, KindInstallService, KindStartService, KindStopService,
	KindRemoveService, KindWaitHealth, KindRecordState,
}

// Undo strategies: how the executor reverts a completed step.
const (
	UndoNone            = "none"               // nothing changed that needs reverting (checks, waits)
	UndoRemovePackages  = "remove-packages"    // purge the packages the step installed
	UndoInstallPackages = "reinstall-packages" // reinstall removed packages from the bundle
	UndoRemoveTree      = "remove-tree"        // delete what the extraction created
	UndoRestoreFile     = "restore-file"       // put back the backup taken before the step (or delete a new file)
	UndoStopService     = "stop-service"
	UndoStartService    = "start-service"
	UndoRemoveService   = "remove-service"
	UndoRestoreService  = "restore-service" // reinstall the service definition backed up before removal
	UndoRestoreState    = "restore-state"   // put back the previous state file
)

// Step is one action of the plan.
type Step struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Runtime is the runtime the step serves; empty for shared steps.
	Runtime string `json:"runtime,omitempty"`
	// Needs are ids of earlier steps that must have completed.
	Needs  []string `json:"needs"`
	Inputs Inputs   `json:"inputs"`
	Undo   string   `json:"undo"`
}

// Inputs carry a step's parameters; which field is set depends on the kind.
type Inputs struct {
	// verify-bundle: every artifact, by SHA-256.
	Artifacts []string `json:"artifacts,omitempty"`
	// install-packages (in unpack order) and remove-packages (in removal order).
	Packages []PackageRef `json:"packages,omitempty"`
	// remove-packages: purge configuration files too.
	Purge bool `json:"purge,omitempty"`
	// extract-archive, remove-archive.
	Archive *Archive `json:"archive,omitempty"`
	// write-file, remove-file.
	File *File `json:"file,omitempty"`
	// install-service, remove-service.
	Service *state.Service `json:"service,omitempty"`
	// start-service, stop-service.
	ServiceName string `json:"serviceName,omitempty"`
	// wait-health.
	Health *state.HealthCheck `json:"health,omitempty"`
	// record-state: the runtimes after the plan.
	Runtimes *[]state.Runtime `json:"runtimes,omitempty"`
}

// PackageRef is a Debian package in a step; SHA256 names its .deb in the
// bundle (empty for removals).
type PackageRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	SHA256  string `json:"sha256,omitempty"`
}

// Archive is an artifact extracted under Dest.
type Archive struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Format string `json:"format"`
	Dest   string `json:"dest"`
	Strip  int    `json:"strip"`
	// Include limits extraction to archive paths matching these globs
	// (path.Match syntax, after Strip); empty extracts everything.
	Include []string `json:"include,omitempty"`
}

// File is a file to write or remove. For write-file, Content holds the
// bytes and SHA256 their digest. For remove-file, SHA256 is the digest
// runtimekit wrote: the executor removes the file only if it still has it.
type File struct {
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	SHA256  string `json:"sha256"`
	Mode    uint32 `json:"mode"`
	Owner   string `json:"owner"`
	Group   string `json:"group"`
	// Kind is managed (replaced on upgrade) or user-config (written only
	// when absent; never removed if changed).
	Kind unit.FileKind `json:"kind"`
}
