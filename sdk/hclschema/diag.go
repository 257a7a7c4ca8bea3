package hclschema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/wigo-project/wigo/sdk"
)

// Diagnostics turns the diagnostics a plugin's Configure returned into HCL
// diagnostics at the operator's text: each is placed at the value of the
// attribute its path names in body (decoded against s), or at the nested
// block it names. One about the block as a whole, or about an attribute
// the operator did not write (left to its default), is placed at subject,
// usually the block header, with the path in its detail.
func Diagnostics(body hcl.Body, s sdk.Schema, ds sdk.Diagnostics, subject hcl.Range) hcl.Diagnostics {
	out := make(hcl.Diagnostics, 0, len(ds))
	for _, d := range ds {
		hd := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: d.Summary, Detail: d.Detail, Subject: subject.Ptr()}
		if d.Severity == sdk.SeverityWarning {
			hd.Severity = hcl.DiagWarning
		}
		if len(d.Path) > 0 {
			if subj, ctx, ok := Locate(body, s, d.Path); ok {
				hd.Subject, hd.Context = subj.Ptr(), ctx.Ptr()
			} else {
				about := fmt.Sprintf("(about %s, not set in this block)", d.Path)
				if hd.Detail == "" {
					hd.Detail = about
				} else {
					hd.Detail += " " + about
				}
			}
		}
		out = append(out, hd)
	}
	return out
}

// Locate finds what path names in body, decoded against s: for an
// attribute, the range of its value (or of the list element or map entry
// the path goes on to) and of the whole attribute; for a nested block, its
// header and the block. ok is false when the operator's text does not have
// it.
func Locate(body hcl.Body, s sdk.Schema, path sdk.Path) (subject, context hcl.Range, ok bool) {
	for len(path) > 0 {
		step := path[0]
		if step.Name == "" {
			return subject, context, false
		}
		content, nested := partialContent(body, s)
		if content == nil {
			return subject, context, false
		}
		if a, found := content.Attributes[step.Name]; found {
			return locateInValue(a.Expr, path[1:]), a.Range, true
		}
		bs, isBlock := nested[step.Name]
		if !isBlock {
			return subject, context, false
		}
		var blocks []*hcl.Block
		for _, b := range content.Blocks {
			if b.Type == step.Name {
				blocks = append(blocks, b)
			}
		}
		var b *hcl.Block
		switch {
		case len(path) == 1:
			if len(blocks) == 0 {
				return subject, context, false
			}
			return blocks[0].DefRange, blocks[0].DefRange, true
		case path[1].Key != "":
			for _, c := range blocks {
				if len(c.Labels) == 1 && c.Labels[0] == path[1].Key {
					b = c
				}
			}
		case path[1].Name == "" && path[1].Index >= 0 && path[1].Index < len(blocks):
			b = blocks[path[1].Index]
		}
		if b == nil {
			return subject, context, false
		}
		if len(path) == 2 {
			return b.DefRange, b.DefRange, true
		}
		body, s, path = b.Body, bs, path[2:]
	}
	return subject, context, false
}

// locateInValue narrows expr to the list element or map entry rest names,
// as far as the operator's text allows; the value as a whole otherwise.
func locateInValue(expr hcl.Expression, rest sdk.Path) hcl.Range {
	for _, step := range rest {
		switch {
		case step.Name != "":
			return expr.Range()
		case step.Key != "":
			pairs, diags := hcl.ExprMap(expr)
			if diags.HasErrors() {
				return expr.Range()
			}
			var next hcl.Expression
			for _, kv := range pairs {
				k, d := kv.Key.Value(nil)
				if !d.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() && k.AsString() == step.Key {
					next = kv.Value
				}
			}
			if next == nil {
				return expr.Range()
			}
			expr = next
		default:
			elems, diags := hcl.ExprList(expr)
			if diags.HasErrors() || step.Index < 0 || step.Index >= len(elems) {
				return expr.Range()
			}
			expr = elems[step.Index]
		}
	}
	return expr.Range()
}
