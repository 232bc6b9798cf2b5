// Package pydeps turns a Python app's dependencies into Debian packages.
//
// An app deployed into the VM runs on Debian's python3 with no network and
// no pip, so what it imports must come from the target's Debian archive:
// flask from python3-flask, PyYAML from python3-yaml. This package reads
// what the app asks for ([Parse]: requirements.txt, else pyproject.toml)
// and finds, in the target's Packages index, the package that provides
// each requirement at a version its specifier allows ([Map]). Resolving
// those packages' own dependencies into the plan is the Debian resolver's
// job, not this package's.
//
// Versions are compared by PEP 440 against the Python release a Debian
// version packages (2.2.2-3 packages 2.2.2); environment markers are
// evaluated for the VM's python3: 3.11 on linux, i686.
package pydeps
