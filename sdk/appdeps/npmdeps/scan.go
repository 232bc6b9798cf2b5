package npmdeps

import (
	"cmp"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// scan checks a built node_modules (the directory nm) for what the VM
// cannot use: a compiled addon that is not an i386 ELF, a symbolic link
// that is absolute or leads out of node_modules, and a package the lock
// marks for another platform (skipped, paths relative to nm's parent). It
// reports every finding at once; versions come from lock.
func scan(nm string, lock *Lock, skipped []string) error {
	versions := map[string]string{}
	for _, p := range lock.Packages {
		versions[p.Path] = p.String()
	}
	var foreign, addons, links []string
	for _, path := range skipped {
		if _, err := os.Lstat(filepath.Join(filepath.Dir(nm), filepath.FromSlash(path))); err == nil {
			foreign = append(foreign, path)
		}
	}
	realRoot, err := filepath.EvalSymlinks(nm)
	if err != nil {
		return err
	}
	err = filepath.WalkDir(nm, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(nm), file)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if why := linkProblem(file, realRoot); why != "" {
				links = append(links, fmt.Sprintf("%s: %s", rel, why))
			}
		case d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".node") && loadableHere(rel):
			if why := addonProblem(file); why != "" {
				pkg := holder(rel)
				addons = append(addons, fmt.Sprintf("%s (%s): %s %s", cmp.Or(versions[pkg], packageName(pkg, lockEntry{})), pkg, strings.TrimPrefix(rel, pkg+"/"), why))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the built node_modules: %w", err)
	}
	var msgs []string
	if len(foreign) > 0 {
		msgs = append(msgs, fmt.Sprintf("npm installed packages for another platform although it was asked for %s (--cpu=%s --os=%s --libc=%s):\n  %s\n"+
			"this npm does not honour those options (npm 10 added them): use a current npm", Platform, targetCPU, targetOS, targetLibc, strings.Join(foreign, "\n  ")))
	}
	if len(addons) > 0 {
		msgs = append(msgs, fmt.Sprintf("compiled addons the VM's Node.js (%s) cannot load:\n  %s\n"+
			"use a version of the package that ships a linux-ia32 build, or one without a compiled part", Platform, strings.Join(addons, "\n  ")))
	}
	if len(links) > 0 {
		msgs = append(msgs, fmt.Sprintf("symbolic links that would not work once node_modules is moved:\n  %s", strings.Join(links, "\n  ")))
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

// linkProblem says why the link at file would break or escape once the
// tree is moved, or "". It must be relative, and what it finally points to
// must exist inside the tree, whatever links lie on the way.
func linkProblem(file, realRoot string) string {
	target, err := os.Readlink(file)
	if err != nil {
		return err.Error()
	}
	if filepath.IsAbs(target) {
		return fmt.Sprintf("points to the absolute path %s", target)
	}
	resolved, err := filepath.EvalSymlinks(file)
	if err != nil {
		return fmt.Sprintf("points to %s, which does not exist", target)
	}
	if rel, err := filepath.Rel(realRoot, resolved); err != nil || !filepath.IsLocal(rel) {
		return fmt.Sprintf("points to %s, outside node_modules", target)
	}
	return ""
}

// addonProblem says why the .node file cannot load in the VM, or "".
func addonProblem(file string) string {
	f, err := elf.Open(file)
	if err != nil {
		return "is not an ELF file (a build for macOS or Windows?)"
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS32 || f.Machine != elf.EM_386 {
		return fmt.Sprintf("is a %s ELF for %s, not a 32-bit one for i386", classBits(f.Class), machineName(f.Machine))
	}
	return ""
}

func classBits(c elf.Class) string {
	if c == elf.ELFCLASS64 {
		return "64-bit"
	}
	return "32-bit"
}

func machineName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86-64"
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "arm"
	}
	return strings.TrimPrefix(m.String(), "EM_")
}

// loadableHere reports whether Node.js on linux/ia32 might load the addon
// at rel. node-gyp-build (prebuildify's loader) picks a file from
// prebuilds/<platform>-<arch>[+<arch>...]/ by the running platform, so
// those for another platform are never loaded and need no check.
func loadableHere(rel string) bool {
	parts := strings.Split(rel, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] != "prebuilds" {
			continue
		}
		platform, archs, ok := strings.Cut(parts[i+1], "-")
		if !ok {
			continue
		}
		if platform != targetOS || !containsArch(archs) {
			return false
		}
	}
	return true
}

func containsArch(archs string) bool {
	for _, a := range strings.Split(archs, "+") {
		if a == targetCPU {
			return true
		}
	}
	return false
}

// holder returns the path of the package a file in node_modules belongs
// to: up to the last node_modules/<name> (or node_modules/@scope/<name>).
func holder(rel string) string {
	i := strings.LastIndex(rel, "node_modules/")
	if i < 0 {
		return rel
	}
	rest := strings.Split(rel[i+len("node_modules/"):], "/")
	n := 1
	if strings.HasPrefix(rest[0], "@") && len(rest) > 1 {
		n = 2
	}
	return rel[:i] + "node_modules/" + strings.Join(rest[:n], "/")
}

// CheckAddons refuses the compiled addons (*.node) under dir that Node.js
// on linux/ia32 would load and cannot: a tree built elsewhere and shipped
// as it is, such as a Next.js standalone build, whose traced
// node_modules hold the addons of the machine that built it. Packages in
// allow are let through (an addon that is only loaded on demand, like
// sharp's for image optimisation). Every offender is listed, by package.
func CheckAddons(dir string, allow []string) error {
	var refused []Refusal
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".node") {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !loadableHere(rel) {
			return nil
		}
		pkg := strings.TrimPrefix(holder(rel), "node_modules/")
		if slices.Contains(allow, pkg) {
			return nil
		}
		if why := addonProblem(p); why != "" {
			refused = append(refused, Refusal{Name: pkg, Path: rel, Reason: "its compiled addon " + path.Base(rel) + " " + why})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(refused) == 0 {
		return nil
	}
	var b strings.Builder
	for _, r := range refused {
		fmt.Fprintf(&b, "%s (%s): %s\n", r.Name, r.Path, r.Reason)
	}
	b.WriteString("the VM is linux/ia32: leave the package out of the build, or allow it explicitly if the app never loads it there")
	return errors.New(b.String())
}
