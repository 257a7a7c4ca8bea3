// Package hclschema decodes an HCL block against a plugin's sdk.Schema. The
// Wigo host uses it to turn an operator's notify/output/transport block into
// the JSON a plugin's Configure receives, and sdktest uses it so that a
// plugin's tests see exactly what the host would send.
//
// Decoding works on the original hcl.Body, so every diagnostic carries the
// file, line and column of the operator's text.
package hclschema

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/wigo-project/wigo/sdk"
)

// Decode decodes body against s and returns the value as a JSON object.
// subject is where schema errors (the plugin's fault, not the operator's)
// are reported, usually the block header.
func Decode(body hcl.Body, s sdk.Schema, subject hcl.Range) ([]byte, hcl.Diagnostics) {
	spec, err := Spec(s)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid plugin schema",
			Detail:   fmt.Sprintf("The plugin declared a config schema the host cannot use: %v. This is a bug in the plugin.", err),
			Subject:  subject.Ptr(),
		}}
	}
	// Evaluating arbitrary HCL can hang (huge numbers rendered in decimal),
	// so every attribute is checked to be plain data first.
	if diags := guard(body, s); diags.HasErrors() {
		return nil, diags
	}
	val, diags := hcldec.Decode(body, spec, nil)
	if diags.HasErrors() {
		return nil, diags
	}
	if subject.Filename != "" {
		if base, err := filepath.Abs(filepath.Dir(subject.Filename)); err == nil {
			val = resolvePaths(val, s, base)
		}
	}
	b, err := ctyjson.Marshal(val, val.Type())
	if err != nil {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot encode plugin config",
			Detail:   err.Error(),
			Subject:  subject.Ptr(),
		})
	}
	return b, diags
}

// DecodeSource parses src as the body of a block in file filename and
// decodes it; for tests.
func DecodeSource(filename, src string, s sdk.Schema) ([]byte, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig([]byte(src), filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return Decode(f.Body, s, hcl.Range{Filename: filename, Start: hcl.InitialPos, End: hcl.InitialPos})
}

// CtyType maps a schema type name to its cty type.
func CtyType(name string) (cty.Type, error) {
	switch name {
	case sdk.TypeString, sdk.TypePath:
		return cty.String, nil
	case sdk.TypeNumber:
		return cty.Number, nil
	case sdk.TypeBool:
		return cty.Bool, nil
	case sdk.TypeListString:
		return cty.List(cty.String), nil
	case sdk.TypeMapString:
		return cty.Map(cty.String), nil
	}
	return cty.NilType, fmt.Errorf("unknown attribute type %q (want string, path, number, bool, list(string) or map(string))", name)
}

// Spec converts s to an hcldec spec. Defaults are literal values; an
// attribute both required and defaulted is refused as contradictory.
func Spec(s sdk.Schema) (hcldec.ObjectSpec, error) {
	spec := hcldec.ObjectSpec{}
	for _, a := range s.Attributes {
		if a.Name == "" || !hclsyntax.ValidIdentifier(a.Name) {
			return nil, fmt.Errorf("attribute name %q is not an HCL identifier", a.Name)
		}
		if _, dup := spec[a.Name]; dup {
			return nil, fmt.Errorf("%q is declared twice", a.Name)
		}
		ty, err := CtyType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.Name, err)
		}
		var as hcldec.Spec = &hcldec.AttrSpec{Name: a.Name, Type: ty, Required: a.Required}
		if a.Default != nil {
			if a.Required {
				return nil, fmt.Errorf("attribute %q is required and has a default", a.Name)
			}
			raw, err := json.Marshal(a.Default)
			if err != nil {
				return nil, fmt.Errorf("default of %q: %w", a.Name, err)
			}
			v, err := ctyjson.Unmarshal(raw, ty)
			if err != nil {
				return nil, fmt.Errorf("default of %q is not a %s: %w", a.Name, a.Type, err)
			}
			as = &hcldec.DefaultSpec{Primary: as, Default: &hcldec.LiteralSpec{Value: v}}
		}
		spec[a.Name] = as
	}
	for _, b := range s.Blocks {
		if b.TypeName == "" || !hclsyntax.ValidIdentifier(b.TypeName) {
			return nil, fmt.Errorf("block type %q is not an HCL identifier", b.TypeName)
		}
		if _, dup := spec[b.TypeName]; dup {
			return nil, fmt.Errorf("%q is declared twice", b.TypeName)
		}
		nested, err := Spec(b.Body)
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", b.TypeName, err)
		}
		if b.Label != "" {
			spec[b.TypeName] = &hcldec.BlockMapSpec{TypeName: b.TypeName, LabelNames: []string{b.Label}, Nested: nested}
		} else {
			spec[b.TypeName] = &hcldec.BlockListSpec{TypeName: b.TypeName, Nested: nested}
		}
	}
	return spec, nil
}

// guard walks the attributes the schema knows (unknown ones are refused by
// hcldec without being evaluated) and refuses anything but plain data.
func guard(body hcl.Body, s sdk.Schema) hcl.Diagnostics {
	// Structural errors (bad labels, duplicates) are left to hcldec, which
	// reports them the same way; only evaluation is dangerous here.
	content, nested := partialContent(body, s)
	if content == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, a := range content.Attributes {
		if d := PlainData(a.Expr); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() {
			continue // hcldec reports it again, with the same position
		}
		if HugeNumber(v) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Number out of range",
				Detail:   fmt.Sprintf("%s holds a number beyond what any option accepts.", a.Name),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	for _, b := range content.Blocks {
		diags = append(diags, guard(b.Body, nested[b.Type])...)
	}
	return diags
}

// PlainData refuses expressions beyond literals, lists, objects and + - * /
// arithmetic: configuration is data (the core's own settings and plugin
// blocks alike), and template interpolation of a huge number renders it in
// decimal inside evaluation, which takes minutes.
// Variables and function calls are left to HCL, which refuses them without
// a context before evaluating their arguments.
func PlainData(expr hcl.Expression) hcl.Diagnostics {
	bad := func(e hcl.Expression) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Expression not allowed",
			Detail: "Settings take plain values: numbers, strings without ${...} or %{...}, " +
				"booleans, lists and objects, with + - * / arithmetic. Write the value itself.",
			Subject: e.Range().Ptr(),
		}}
	}
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr, *hclsyntax.ScopeTraversalExpr, *hclsyntax.FunctionCallExpr:
		return nil
	case *hclsyntax.TemplateExpr:
		if !e.IsStringLiteral() {
			return bad(e)
		}
		return nil
	case *hclsyntax.ParenthesesExpr:
		return PlainData(e.Expression)
	case *hclsyntax.UnaryOpExpr:
		return PlainData(e.Val)
	case *hclsyntax.BinaryOpExpr:
		switch e.Op {
		case hclsyntax.OpAdd, hclsyntax.OpSubtract, hclsyntax.OpMultiply, hclsyntax.OpDivide:
		default:
			return bad(e)
		}
		if d := PlainData(e.LHS); d.HasErrors() {
			return d
		}
		return PlainData(e.RHS)
	case *hclsyntax.TupleConsExpr:
		for _, x := range e.Exprs {
			if d := PlainData(x); d.HasErrors() {
				return d
			}
		}
		return nil
	case *hclsyntax.ObjectConsExpr:
		for _, it := range e.Items {
			// Keys are converted to strings during evaluation, so only
			// bare names and literal strings are safe.
			key, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr)
			if !ok {
				return bad(it.KeyExpr)
			}
			tmpl, isTmpl := key.Wrapped.(*hclsyntax.TemplateExpr)
			if !(isTmpl && tmpl.IsStringLiteral()) && (key.ForceNonLiteral || hcl.ExprAsKeyword(key.Wrapped) == "") {
				return bad(key)
			}
			if d := PlainData(it.ValueExpr); d.HasErrors() {
				return d
			}
		}
		return nil
	case hclsyntax.Expression:
		return bad(e)
	}
	// Not native syntax (no such input today): let HCL decide.
	return nil
}

// HugeNumber reports a number anywhere inside v outside float64's range;
// converting one to a string would take minutes.
func HugeNumber(v cty.Value) bool {
	huge := false
	_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
		if !v.IsKnown() || v.IsNull() || v.Type() != cty.Number {
			return true, nil
		}
		f := v.AsBigFloat()
		if exp := f.MantExp(nil); f.IsInf() || exp > 1100 || exp < -1100 {
			huge = true
		}
		return !huge, nil
	})
	return huge
}

// partialContent is body's content as s declares it, without evaluating
// anything, and the schema of each nested block type. Structural errors are
// ignored: hcldec reports them.
func partialContent(body hcl.Body, s sdk.Schema) (*hcl.BodyContent, map[string]sdk.Schema) {
	bs := &hcl.BodySchema{}
	for _, a := range s.Attributes {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name})
	}
	nested := map[string]sdk.Schema{}
	for _, b := range s.Blocks {
		hb := hcl.BlockHeaderSchema{Type: b.TypeName}
		if b.Label != "" {
			hb.LabelNames = []string{b.Label}
		}
		bs.Blocks = append(bs.Blocks, hb)
		nested[b.TypeName] = b.Body
	}
	content, _, _ := body.PartialContent(bs)
	return content, nested
}
