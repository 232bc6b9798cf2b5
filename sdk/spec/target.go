package spec

// Target is a machine profile that plans are made for, decoded from a CUE
// file unified with the schema's #Target (see manifest.LoadTarget).
type Target struct {
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	OS          string       `json:"os"`
	Arch        string       `json:"arch"`
	Debian      DebianSuite  `json:"debian"`
	Budget      TargetBudget `json:"budget"`
	Base        TargetBase   `json:"base"`
}

// DebianSuite names the Debian release a target runs.
type DebianSuite struct {
	Release string `json:"release"` // codename, e.g. bookworm
	Version string `json:"version"` // e.g. 12
}

// TargetBudget is what runtimes may use on the target.
type TargetBudget struct {
	MemoryMiB int `json:"memoryMiB"`
	DiskMiB   int `json:"diskMiB"`
}

// TargetBase is the target's system before runtimekit installs anything.
type TargetBase struct {
	Packages []string `json:"packages"`
	Status   string   `json:"status,omitempty"` // dpkg status file, relative to the profile
}

// Platform returns the target's os/arch pair.
func (t *Target) Platform() Platform { return Platform{OS: t.OS, Arch: t.Arch} }

// DebianArch maps the Go architecture to dpkg's name for it.
func (t *Target) DebianArch() string { return DebianArch(t.Arch) }

// DebianArch maps a Go architecture name to dpkg's.
func DebianArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	default:
		return goarch
	}
}
