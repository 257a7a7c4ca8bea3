package config

import (
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits checked on a configuration file before it is parsed. HCL's parser
// recurses once per nesting level, and a Go stack overflow is fatal (no
// recover): a file nested 100,000 deep would kill `wigo -check` and, on
// SIGHUP, the running daemon. The lexer is a state machine that does not
// recurse, so the file is lexed first and refused when it would nest too
// deep. No real configuration comes near these figures.
const (
	// MaxFileBytes caps one configuration file.
	MaxFileBytes = 4 << 20
	// MaxNesting caps brackets, braces, parentheses and template
	// interpolations open at once, and runs of prefix operators (- and !).
	MaxNesting = 64
	// MaxConditionals caps the ? operators of one file: each link of a
	// chain "a ? b : c ? d : …" is one more level of recursion.
	MaxConditionals = 1000
)

// guard reports a file too large or nested too deep to be parsed safely,
// at the position where the limit is crossed.
func guard(s Source) hcl.Diagnostics {
	if len(s.Src) > MaxFileBytes {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration file too large",
			Detail:   fmt.Sprintf("A configuration file may be at most %d bytes.", MaxFileBytes),
			Subject:  &hcl.Range{Filename: s.Name, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	tokens, diags := hclsyntax.LexConfig(s.Src, s.Name, hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	tooDeep := func(tok hclsyntax.Token, what string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration nested too deep",
			Detail:   fmt.Sprintf("More than %s here; a configuration needs far fewer.", what),
			Subject:  tok.Range.Ptr(),
		}}
	}
	depth, prefixRun, conditionals := 0, 0, 0
	prev := hclsyntax.TokenNewline
	for _, tok := range tokens {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			if depth++; depth > MaxNesting {
				return tooDeep(tok, fmt.Sprintf("%d brackets, braces or interpolations open at once", MaxNesting))
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd:
			depth--
		case hclsyntax.TokenMinus, hclsyntax.TokenBang:
			if !endsOperand(prev) {
				if prefixRun++; prefixRun > MaxNesting {
					return tooDeep(tok, fmt.Sprintf("%d prefix operators in a row", MaxNesting))
				}
			}
		case hclsyntax.TokenQuestion:
			if conditionals++; conditionals > MaxConditionals {
				return tooDeep(tok, fmt.Sprintf("%d conditional operators in one file", MaxConditionals))
			}
		}
		if tok.Type != hclsyntax.TokenMinus && tok.Type != hclsyntax.TokenBang {
			prefixRun = 0
		}
		prev = tok.Type
	}
	return nil
}

// endsOperand reports whether a token can end an operand, so that a minus
// after it is binary (1 - 2) rather than a prefix (- - 2).
func endsOperand(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenIdent, hclsyntax.TokenNumberLit, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc,
		hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen:
		return true
	}
	return false
}

// readConfigFile reads at most one byte more than MaxFileBytes, enough for
// guard to refuse the file without holding a huge one in memory.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
}
