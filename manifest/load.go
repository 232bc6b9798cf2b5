package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
	cuejson "cuelang.org/go/encoding/json"

	"github.com/runtimekit/runtimekit/schema"
)

// Options control how a manifest is loaded.
type Options struct {
	// Params are user values unified with the manifest's params; they must
	// meet the manifest's constraints.
	Params map[string]any
	// Budget bounds the evaluation's time and memory; zero fields take
	// DefaultTimeBudget and DefaultMemoryBudget.
	Budget Budget
	// Logger receives a debug record per evaluation; nil logs nothing.
	Logger *slog.Logger
}

// schemaPrefix marks schema source files in positions, so diagnostics can
// point at the manifest rather than at the schema it broke.
const schemaPrefix = "schema/"

// Loader evaluates manifests against the embedded schema in this process,
// without a budget; LoadFiles and LoadTarget use one in the evaluating child
// process (see evaluator.go), which is why it offers no exported method. A
// Loader holds a CUE context and is not safe for concurrent use.
type Loader struct {
	cue    *cue.Context
	schema cue.Value
}

// NewLoader compiles the embedded schema.
func NewLoader() (*Loader, error) {
	files, err := schema.CUEFiles()
	if err != nil {
		return nil, fmt.Errorf("read embedded schema: %w", err)
	}
	c := cuecontext.New()
	v, err := buildInstance(c, files, schemaPrefix)
	if err != nil {
		return nil, fmt.Errorf("compile embedded schema: %w", err)
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("compile embedded schema: %w", err)
	}
	return &Loader{cue: c, schema: v}, nil
}

// LoadFiles loads a manifest from named source files (.cue or .json; several
// .cue files form one package). The returned error is a Diagnostics when the
// manifest itself is at fault, listing every problem found, and a
// *BudgetError when its evaluation went over opts.Budget. A manifest whose
// evaluation its syntax bounds is evaluated in this process (see
// precheck.go); any other in a child process, under the budget (see
// evaluator.go).
func LoadFiles(ctx context.Context, files map[string][]byte, opts Options) (*Manifest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("load manifest: no source files")
	}
	if plainManifest(files, opts.Params) {
		return finishRuntime(evalRuntime(files, opts.Params))
	}
	req := &evalRequest{Kind: kindRuntime, Files: files}
	if len(opts.Params) > 0 {
		req.Params = make(map[string]typedValue, len(opts.Params))
		for k, v := range opts.Params {
			req.Params[k] = typedValue{v}
		}
	}
	resp, err := evaluate(ctx, "manifest", req, opts.Budget.withDefaults(), opts.Logger)
	if err != nil {
		return nil, err
	}
	return finishRuntime(resp)
}

// finishRuntime turns an evaluation's response into LoadFiles' result.
func finishRuntime(resp *evalResponse) (*Manifest, error) {
	if len(resp.Diagnostics) > 0 {
		return nil, resp.Diagnostics
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	m, err := decodeManifest(resp.Value)
	if err != nil {
		return nil, fmt.Errorf("decode evaluated manifest: %w", err)
	}
	m.Params = resp.Params
	m.Source = resp.Source
	return m, nil
}

// LoadFS loads the manifest made of every .cue and .json file at the root of fsys.
func LoadFS(ctx context.Context, fsys fs.FS, opts Options) (*Manifest, error) {
	files, err := readManifestFS(fsys)
	if err != nil {
		return nil, err
	}
	return LoadFiles(ctx, files, opts)
}

// LoadFile loads a manifest from one file on disk; diagnostics name it as given.
func LoadFile(ctx context.Context, name string, opts Options) (*Manifest, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	return LoadFiles(ctx, map[string][]byte{name: b}, opts)
}

func readManifestFS(fsys fs.FS) (map[string][]byte, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read manifest directory: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".cue" && ext != ".json") {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .cue or .json manifest files found")
	}
	return files, nil
}

// evalRuntime evaluates a manifest with the user's parameters.
func (l *Loader) evalRuntime(files map[string][]byte, user map[string]any) *evalResponse {
	src, diags := l.compile(files)
	if diags != nil {
		return &evalResponse{Diagnostics: diags}
	}
	def := l.schema.LookupPath(cue.MakePath(cue.Def("Runtime")))
	v := def.Unify(src)
	if ds := unknownParams(src, user); ds != nil {
		return &evalResponse{Diagnostics: ds}
	}
	if ds := l.checkParamValues(src, user); ds != nil {
		return &evalResponse{Diagnostics: ds}
	}
	if len(user) > 0 {
		pv := l.cue.Encode(map[string]any{"params": normalizeNumbers(user)})
		v = v.Unify(pv)
	}

	ds := l.validate(v, def)
	ds = append(ds, check(v, src, def)...)
	ds = dedupe(ds)
	if ds.HasErrors() {
		ds = simplify(ds)
		attribute(ds, v, user)
		sortDiags(ds)
		return &evalResponse{Diagnostics: ds}
	}

	var m *Manifest
	raw, err := v.MarshalJSON()
	if err == nil {
		m, err = decodeManifest(raw) // the parent decodes it again; fail here, with a position
	}
	if err != nil {
		return &evalResponse{Diagnostics: Diagnostics{{Severity: SeverityError, Pos: firstPos(v), Summary: "cannot decode manifest", Detail: err.Error()}}}
	}
	m.Params, m.Source = params(src, v), positions(v)
	if ds := rules(m, user); ds.HasErrors() {
		sortDiags(ds)
		return &evalResponse{Diagnostics: ds}
	}
	return &evalResponse{Value: raw, Params: m.Params, Source: m.Source}
}

// compile turns the source files into one CUE value: .cue files are built as
// one package instance (so they may refer to each other), .json files are
// extracted with their positions and unified in.
func (l *Loader) compile(files map[string][]byte) (cue.Value, Diagnostics) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	cueFiles := map[string][]byte{}
	var jsonNames []string
	var ds Diagnostics
	for _, n := range names {
		switch filepath.Ext(n) {
		case ".cue":
			cueFiles[n] = files[n]
		case ".json":
			jsonNames = append(jsonNames, n)
		default:
			ds = append(ds, Diagnostic{Severity: SeverityError, Pos: Pos{File: n}, Summary: "unknown manifest file type",
				Hint: "manifest files end in .cue or .json"})
		}
	}
	if ds != nil {
		return cue.Value{}, ds
	}
	var v cue.Value
	if len(cueFiles) > 0 {
		var err error
		v, err = buildInstance(l.cue, cueFiles, "")
		if err != nil {
			return cue.Value{}, l.fromCUE(err, cue.Value{}, cue.Value{})
		}
	} else {
		v = l.cue.CompileString("{}")
	}
	for _, n := range jsonNames {
		expr, err := cuejson.Extract(n, files[n])
		if err != nil {
			return cue.Value{}, l.fromCUE(err, cue.Value{}, cue.Value{})
		}
		v = v.Unify(l.cue.BuildExpr(expr))
	}
	if err := v.Err(); err != nil {
		return cue.Value{}, l.fromCUE(err, v, cue.Value{})
	}
	return v, nil
}

func buildInstance(c *cue.Context, files map[string][]byte, prefix string) (cue.Value, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	inst := build.NewContext().NewInstance("", nil)
	var errs cueerrors.Error
	for _, n := range names {
		f, err := parser.ParseFile(prefix+n, files[n], parser.ParseComments)
		if err != nil {
			errs = cueerrors.Append(errs, cueerrors.Promote(err, ""))
			continue
		}
		if err := inst.AddSyntax(f); err != nil {
			errs = cueerrors.Append(errs, err)
		}
	}
	if errs != nil {
		return cue.Value{}, errs
	}
	v := c.BuildInstance(inst)
	return v, v.Err()
}

// fromCUE converts CUE errors into diagnostics that point into the manifest
// (not the schema) and carry the schema's doc comment for the field as a hint.
func (l *Loader) fromCUE(err error, v, def cue.Value) Diagnostics {
	var ds Diagnostics
	for _, e := range cueerrors.Errors(err) {
		format, args := e.Msg()
		d := Diagnostic{Severity: SeverityError, Summary: fmt.Sprintf(format, args...)}
		segs := e.Path()
		if len(segs) > 0 && strings.HasPrefix(segs[0], "#") {
			segs = segs[1:] // the definition's name is not part of the manifest
		}
		if len(segs) > 0 {
			d.Path = "/" + strings.Join(segs, "/")
		}
		if strings.HasPrefix(d.Summary, "incomplete value") && len(segs) > 0 {
			// CUE's wording for a required field left out.
			d.Detail = d.Summary
			d.Summary = "missing required value " + strings.Join(segs, ".")
		}
		d.Pos = manifestPos(cueerrors.Positions(e))
		if d.Pos.File == "" && v.Exists() {
			d.Pos = ancestorPos(v, segs)
		}
		if def.Exists() {
			d.Hint = hint(def, segs, d.Summary)
		}
		ds = append(ds, d)
	}
	return ds
}

func manifestPos(ps []token.Pos) Pos {
	for _, p := range ps {
		if p.IsValid() && !strings.HasPrefix(p.Filename(), schemaPrefix) {
			return toPos(p)
		}
	}
	return Pos{}
}

func toPos(p token.Pos) Pos {
	if !p.IsValid() {
		return Pos{}
	}
	return Pos{File: p.Filename(), Line: p.Line(), Column: p.Column()}
}

// ancestorPos finds the nearest enclosing value written in the manifest: a
// missing required field is reported at the struct that lacks it.
func ancestorPos(v cue.Value, segs []string) Pos {
	for i := len(segs); i >= 0; i-- {
		w := v.LookupPath(toPath(segs[:i]))
		if !w.Exists() {
			continue
		}
		if p := manifestPos(sourcePositions(w)); p.File != "" {
			return p
		}
	}
	return Pos{}
}

func sourcePositions(v cue.Value) []token.Pos {
	ps := []token.Pos{v.Pos()}
	if n := v.Source(); n != nil {
		ps = append(ps, n.Pos())
	}
	return ps
}

func toPath(segs []string) cue.Path {
	sels := make([]cue.Selector, 0, len(segs))
	for _, s := range segs {
		if i, err := strconv.Atoi(s); err == nil {
			sels = append(sels, cue.Index(i))
		} else {
			sels = append(sels, cue.Str(s))
		}
	}
	return cue.MakePath(sels...)
}

// hint returns the schema's documentation of the field at segs, or, for a
// field the schema does not allow, the fields it does allow there.
func hint(def cue.Value, segs []string, summary string) string {
	if strings.Contains(summary, "not allowed") && len(segs) > 0 {
		parent := schemaLookup(def, segs[:len(segs)-1])
		if names := fieldNames(parent); len(names) > 0 {
			return "allowed fields here: " + strings.Join(names, ", ")
		}
	}
	for i := len(segs); i > 0; i-- {
		w := schemaLookup(def, segs[:i])
		if !w.Exists() {
			continue
		}
		if doc := docText(w); doc != "" {
			return doc
		}
		if i < len(segs) {
			break // only the field itself or its list element carries a useful doc
		}
	}
	return ""
}

// schemaLookup walks the schema with list indices and map keys generalised,
// since the schema describes every element alike.
func schemaLookup(def cue.Value, segs []string) cue.Value {
	w := def
	for _, s := range segs {
		if _, err := strconv.Atoi(s); err == nil {
			w = w.LookupPath(cue.MakePath(cue.AnyIndex))
			continue
		}
		next := w.LookupPath(cue.MakePath(cue.Str(s)))
		if !next.Exists() {
			next = w.LookupPath(cue.MakePath(cue.Str(s).Optional()))
		}
		if !next.Exists() {
			next = w.LookupPath(cue.MakePath(cue.AnyString))
		}
		w = next
		if !w.Exists() {
			return w
		}
	}
	return w
}

func fieldNames(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		names = append(names, it.Selector().Unquoted())
	}
	sort.Strings(names)
	return names
}

func docText(v cue.Value) string {
	var parts []string
	for _, g := range v.Doc() {
		if t := strings.TrimSpace(g.Text()); t != "" {
			parts = append(parts, strings.Join(strings.Fields(t), " "))
		}
	}
	return strings.Join(parts, " ")
}

// firstPos is where v was written; a struct literal in a list may carry no
// position of its own, so its first field's stands in.
func firstPos(v cue.Value) Pos {
	if p := manifestPos(sourcePositions(v)); p.File != "" {
		return p
	}
	if it, err := v.Fields(); err == nil && it.Next() {
		return manifestPos(sourcePositions(it.Value()))
	}
	return Pos{}
}

// decodeManifest turns the validated value, as JSON, into Go types. params
// are decoded separately (they keep their CUE constraints), so they are
// masked here.
func decodeManifest(b []byte) (*Manifest, error) {
	var raw struct {
		Manifest
		Params json.RawMessage `json:"params"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	m := raw.Manifest
	for i := range m.Health {
		if m.Health[i].Kind == HealthHTTP && m.Health[i].HTTP == nil {
			m.Health[i].HTTP = &HTTPProbe{Path: "/", Status: 200}
		}
	}
	return &m, nil
}

// params describes each user-settable value: its type, default and
// constraint from the manifest source, and its value after the user's.
func params(src, v cue.Value) []Param {
	pv := v.LookupPath(cue.ParsePath("params"))
	if !pv.Exists() {
		return nil
	}
	it, err := pv.Fields()
	if err != nil {
		return nil
	}
	var out []Param
	for it.Next() {
		name := it.Selector().Unquoted()
		p := Param{Name: name, Type: it.Value().IncompleteKind().String()}
		_ = it.Value().Decode(&p.Value)
		decl := src.LookupPath(cue.MakePath(cue.Str("params"), cue.Str(name)))
		if d, ok := decl.Default(); ok && d.IsConcrete() {
			_ = d.Decode(&p.Default)
		}
		p.Constraint = constraint(decl)
		p.Description = docText(decl)
		out = append(out, p)
	}
	return out
}

// constraint is a parameter's declaration as written, e.g. "int & >=1 | *80".
func constraint(decl cue.Value) string {
	n := decl.Source()
	if n == nil {
		return ""
	}
	if f, ok := n.(*ast.Field); ok {
		n = f.Value
	}
	b, err := format.Node(n)
	if err != nil {
		return ""
	}
	return string(b)
}

// positions records where each value of the manifest was written.
func positions(v cue.Value) Positions {
	ps := Positions{}
	var walk func(prefix string, w cue.Value)
	walk = func(prefix string, w cue.Value) {
		if p := firstPos(w); p.File != "" {
			key := prefix
			if key == "" {
				key = "/"
			}
			ps[key] = p
		}
		switch w.IncompleteKind() {
		case cue.StructKind:
			it, err := w.Fields()
			if err != nil {
				return
			}
			for it.Next() {
				walk(prefix+"/"+it.Selector().Unquoted(), it.Value())
			}
		case cue.ListKind:
			it, err := w.List()
			if err != nil {
				return
			}
			for i := 0; it.Next(); i++ {
				walk(prefix+"/"+strconv.Itoa(i), it.Value())
			}
		}
	}
	walk("", v)
	return ps
}

func dedupe(ds Diagnostics) Diagnostics {
	seen := map[string]bool{}
	var out Diagnostics
	for _, d := range ds {
		k := d.Pos.String() + "\x00" + d.Path + "\x00" + d.Summary
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, d)
	}
	return out
}

func sortDiags(ds Diagnostics) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func sortStrings(s []string) { sort.Strings(s) }

// unknownParams rejects user values for parameters the manifest does not
// declare: the schema leaves params open, so a typo would otherwise pass.
func unknownParams(src cue.Value, user map[string]any) Diagnostics {
	names := make([]string, 0, len(user))
	for n := range user {
		names = append(names, n)
	}
	sort.Strings(names)
	var ds Diagnostics
	declared := fieldNames(src.LookupPath(cue.ParsePath("params")))
	for _, n := range names {
		if !src.LookupPath(cue.MakePath(cue.Str("params"), cue.Str(n))).Exists() {
			ds = append(ds, Diagnostic{Severity: SeverityError, Pos: firstPos(src), Path: "/params/" + n,
				Summary: fmt.Sprintf("unknown parameter %q", n), Hint: "declared parameters: " + strings.Join(declared, ", ")})
		}
	}
	return ds
}

// normalizeNumbers turns integral float64s (what encoding/json produces for
// every number) into int64s: CUE keeps float and int apart, so 8080.0 would
// not unify with "int".
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeNumbers(e)
		}
		return out
	default:
		return v
	}
}

// validate reports the schema errors of v. CUE drops "incomplete value"
// errors (a required field missing) from a validation that also finds a
// conflict, so each top-level field, and each element of a top-level list,
// is validated on its own as well: every problem is reported in one run.
func (l *Loader) validate(v, def cue.Value) Diagnostics {
	var ds Diagnostics
	if err := v.Validate(cue.Concrete(true), cue.All()); err != nil {
		ds = append(ds, l.fromCUE(err, v, def)...)
	} else {
		return nil
	}
	it, err := v.Fields()
	if err != nil {
		return ds
	}
	for it.Next() {
		fv := it.Value()
		parts := []cue.Value{fv}
		if fv.IncompleteKind() == cue.ListKind {
			for i := 0; ; i++ {
				el := fv.LookupPath(cue.MakePath(cue.Index(i)))
				if !el.Exists() {
					break
				}
				parts = append(parts, el)
			}
		}
		for _, part := range parts {
			if err := part.Validate(cue.Concrete(true), cue.All()); err != nil {
				ds = append(ds, l.fromCUE(err, v, def)...)
			}
		}
	}
	return ds
}
