package pydeps

import (
	"fmt"
	"strings"
)

// targetEnv holds the PEP 508 marker variables of the VM's interpreter:
// Debian bookworm's python3 (3.11.2) on a 32-bit x86 Linux kernel. A
// marker naming any other variable (platform_release, platform_version)
// depends on the running kernel and is an error rather than a guess.
// extra is empty: requirements are installed without extras.
var targetEnv = map[string]string{
	"python_version":                 "3.11",
	"python_full_version":            "3.11.2",
	"implementation_version":         "3.11.2",
	"implementation_name":            "cpython",
	"platform_python_implementation": "CPython",
	"os_name":                        "posix",
	"sys_platform":                   "linux",
	"platform_system":                "Linux",
	"platform_machine":               "i686",
	"extra":                          "",
}

// evalMarker evaluates a PEP 508 environment marker against targetEnv.
// Every comparison is evaluated, without short-circuit, so that a
// variable that cannot be known is an error wherever it appears.
func evalMarker(marker string) (bool, error) {
	toks, err := tokenizeMarker(marker)
	if err != nil {
		return false, err
	}
	p := &markerParser{toks: toks}
	v, err := p.or()
	if err != nil {
		return false, err
	}
	if p.pos < len(p.toks) {
		return false, fmt.Errorf("unexpected %q in marker", p.toks[p.pos].text)
	}
	return v, nil
}

type markerToken struct {
	text   string
	quoted bool // a string literal
}

func tokenizeMarker(s string) ([]markerToken, error) {
	var toks []markerToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, markerToken{text: s[i : i+1]})
			i++
		case c == '\'' || c == '"':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string in marker %q", s)
			}
			toks = append(toks, markerToken{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
		case strings.IndexByte("<>=!~", c) >= 0:
			j := i
			for j < len(s) && strings.IndexByte("<>=!~", s[j]) >= 0 {
				j++
			}
			toks = append(toks, markerToken{text: s[i:j]})
			i = j
		case c == '_' || c == '.' || isAlnum(c):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || isAlnum(s[j])) {
				j++
			}
			toks = append(toks, markerToken{text: s[i:j]})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q in marker %q", c, s)
		}
	}
	return toks, nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

type markerParser struct {
	toks []markerToken
	pos  int
}

func (p *markerParser) peek(word string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].text == word
}

func (p *markerParser) or() (bool, error) {
	v, err := p.and()
	for err == nil && p.peek("or") {
		p.pos++
		var w bool
		w, err = p.and()
		v = v || w
	}
	return v, err
}

func (p *markerParser) and() (bool, error) {
	v, err := p.expr()
	for err == nil && p.peek("and") {
		p.pos++
		var w bool
		w, err = p.expr()
		v = v && w
	}
	return v, err
}

func (p *markerParser) expr() (bool, error) {
	if p.peek("(") {
		p.pos++
		v, err := p.or()
		if err != nil {
			return false, err
		}
		if !p.peek(")") {
			return false, fmt.Errorf("missing ) in marker")
		}
		p.pos++
		return v, nil
	}
	lhs, err := p.value()
	if err != nil {
		return false, err
	}
	op, err := p.op()
	if err != nil {
		return false, err
	}
	rhs, err := p.value()
	if err != nil {
		return false, err
	}
	return compareMarker(lhs, op, rhs)
}

func (p *markerParser) value() (string, error) {
	if p.pos >= len(p.toks) {
		return "", fmt.Errorf("marker ends where a value was expected")
	}
	t := p.toks[p.pos]
	p.pos++
	if t.quoted {
		return t.text, nil
	}
	v, ok := targetEnv[t.text]
	if !ok {
		return "", fmt.Errorf("marker variable %q cannot be evaluated for the VM (known: python_version, python_full_version, sys_platform, platform_machine, platform_system, os_name, implementation_name, platform_python_implementation)", t.text)
	}
	return v, nil
}

func (p *markerParser) op() (string, error) {
	if p.peek("in") {
		p.pos++
		return "in", nil
	}
	if p.peek("not") {
		p.pos++
		if !p.peek("in") {
			return "", fmt.Errorf("expected \"in\" after \"not\" in marker")
		}
		p.pos++
		return "not in", nil
	}
	if p.pos < len(p.toks) && !p.toks[p.pos].quoted {
		switch t := p.toks[p.pos].text; t {
		case "==", "!=", "<=", ">=", "<", ">", "~=", "===":
			p.pos++
			return t, nil
		}
	}
	if p.pos >= len(p.toks) {
		return "", fmt.Errorf("marker ends where an operator was expected")
	}
	return "", fmt.Errorf("%q is not a marker operator", p.toks[p.pos].text)
}

// compareMarker follows PEP 508: versions compare by PEP 440 when both
// sides are versions, anything else as strings; "in" is substring.
func compareMarker(lhs, op, rhs string) (bool, error) {
	switch op {
	case "in":
		return strings.Contains(rhs, lhs), nil
	case "not in":
		return !strings.Contains(rhs, lhs), nil
	}
	if v, err := parseVersion(lhs); err == nil {
		if spec, err := parseSpecifier(op + rhs); err == nil {
			return spec.allows(v, true), nil
		}
	}
	switch op {
	case "==", "===":
		return lhs == rhs, nil
	case "!=":
		return lhs != rhs, nil
	case "<":
		return lhs < rhs, nil
	case "<=":
		return lhs <= rhs, nil
	case ">":
		return lhs > rhs, nil
	case ">=":
		return lhs >= rhs, nil
	}
	return false, fmt.Errorf("%q %s %q: ~= compares versions only", lhs, op, rhs)
}
