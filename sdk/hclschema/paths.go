package hclschema

import (
	"path/filepath"

	"github.com/zclconf/go-cty/cty"

	"github.com/wigo-project/wigo/sdk"
)

// resolvePaths returns v, an object decoded against s, with every relative
// TypePath attribute (in nested blocks too) joined to base.
func resolvePaths(v cty.Value, s sdk.Schema, base string) cty.Value {
	if v.IsNull() || !v.IsKnown() || !v.Type().IsObjectType() {
		return v
	}
	attrs := v.AsValueMap()
	for _, a := range s.Attributes {
		p, ok := attrs[a.Name]
		if a.Type != sdk.TypePath || !ok || p.IsNull() || !p.IsKnown() {
			continue
		}
		if name := p.AsString(); name != "" && !filepath.IsAbs(name) {
			attrs[a.Name] = cty.StringVal(filepath.Join(base, name))
		}
	}
	for _, b := range s.Blocks {
		bv, ok := attrs[b.TypeName]
		if !ok || bv.IsNull() || !bv.IsKnown() || bv.LengthInt() == 0 {
			continue
		}
		ty := bv.Type()
		switch {
		case ty.IsMapType() || ty.IsObjectType():
			m := bv.AsValueMap()
			for k, x := range m {
				m[k] = resolvePaths(x, b.Body, base)
			}
			if ty.IsMapType() {
				attrs[b.TypeName] = cty.MapVal(m)
			} else {
				attrs[b.TypeName] = cty.ObjectVal(m)
			}
		case ty.IsListType() || ty.IsTupleType():
			l := bv.AsValueSlice()
			for i, x := range l {
				l[i] = resolvePaths(x, b.Body, base)
			}
			if ty.IsListType() {
				attrs[b.TypeName] = cty.ListVal(l)
			} else {
				attrs[b.TypeName] = cty.TupleVal(l)
			}
		}
	}
	return cty.ObjectVal(attrs)
}
