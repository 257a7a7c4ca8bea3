package sdk

import (
	"errors"
	"fmt"
	"strings"

	pb "github.com/wigo-project/wigo/sdk/internal/pb/wigo/plugin/v1"
)

// Severity says whether a Diagnostic rejects the config.
type Severity int

// Severities of a Diagnostic.
const (
	// SeverityError rejects the config: the instance does not run.
	SeverityError Severity = iota
	// SeverityWarning is shown to the operator; the config is accepted.
	SeverityWarning
)

// PathStep is one step of a Path: exactly one of Name (an attribute or a
// nested block type) or Key (a labeled block's label, a map key) is set, or
// neither, and then Index selects an unlabeled block or a list element.
type PathStep struct {
	// Name is an attribute name or a nested block's type name.
	Name string
	// Key selects a labeled nested block by label, or a map element.
	Key string
	// Index selects an unlabeled nested block (file order) or a list
	// element, from 0, when Name and Key are empty.
	Index int
}

// Path names an attribute inside a plugin's block, from the block down:
// AttributePath("target").Key("ops").Attr("url") is the url of
// target "ops" { ... }. The empty Path is the block itself.
type Path []PathStep

// AttributePath is the path of the block's attribute (or nested block
// type) name.
func AttributePath(name string) Path { return Path{{Name: name}} }

// Attr extends p with an attribute or nested block type name.
func (p Path) Attr(name string) Path { return append(p[:len(p):len(p)], PathStep{Name: name}) }

// Key extends p with a labeled block's label or a map key.
func (p Path) Key(key string) Path { return append(p[:len(p):len(p)], PathStep{Key: key}) }

// Index extends p with an unlabeled block's or a list element's position.
func (p Path) Index(i int) Path { return append(p[:len(p):len(p)], PathStep{Index: i}) }

// String renders p as the operator reads it, e.g. target["ops"].url.
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case s.Name != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.Name)
		case s.Key != "":
			fmt.Fprintf(&b, "[%q]", s.Key)
		default:
			fmt.Fprintf(&b, "[%d]", s.Index)
		}
	}
	return b.String()
}

// Diagnostic is one problem Configure found in the decoded config. The
// host shows it at the file, line and column of the attribute Path names,
// so the operator sees which line to fix.
type Diagnostic struct {
	// Severity is SeverityError (the zero value) or SeverityWarning.
	Severity Severity
	// Summary is one sentence saying what is wrong.
	Summary string
	// Detail says how to fix it.
	Detail string
	// Path is the attribute the diagnostic is about; empty means the block.
	Path Path
}

// Diagnostics is what Configure returns to point at attributes. As an
// error it is the whole list; Configure may return Diagnostics holding only
// warnings, and the host then shows them and runs the instance.
type Diagnostics []Diagnostic

// Error implements error: one line per diagnostic, "path: summary; detail".
func (ds Diagnostics) Error() string {
	lines := make([]string, 0, len(ds))
	for _, d := range ds {
		lines = append(lines, d.line())
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic rejects the config.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity != SeverityWarning {
			return true
		}
	}
	return false
}

func (d Diagnostic) line() string {
	s := d.Summary
	if p := d.Path.String(); p != "" {
		s = p + ": " + s
	}
	if d.Severity == SeverityWarning {
		s = "warning: " + s
	}
	if d.Detail != "" {
		s += "; " + d.Detail
	}
	return s
}

// AttributeError is the error Configure returns when the value of the
// block's attribute name is wrong; detail says what a right one is. The
// host reports it at that attribute's line and column:
//
//	return sdk.AttributeError("url", "want an absolute http:// or https:// URL")
func AttributeError(name, detail string) error {
	return Diagnostics{{
		Summary: fmt.Sprintf("Invalid value for %q", name),
		Detail:  detail,
		Path:    AttributePath(name),
	}}
}

// configureReply turns what a plugin's Configure returned into its reply:
// Diagnostics travel as data, any other error as block-level text.
func configureReply(err error) *pb.ConfigureResponse {
	if err == nil {
		return &pb.ConfigureResponse{}
	}
	var ds Diagnostics
	if !errors.As(err, &ds) {
		return &pb.ConfigureResponse{Error: errString(err)}
	}
	resp := &pb.ConfigureResponse{Diagnostics: diagnosticsToProto(ds)}
	var errs Diagnostics
	for _, d := range ds {
		if d.Severity != SeverityWarning {
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		resp.Error = errString(errs)
	}
	return resp
}

// configureResult is the host side of configureReply: nil when the config
// is accepted without a word, else a *RemoteError whose Diagnostics are set
// when the plugin sent them (when none is an error, the config was accepted).
func configureResult(resp *pb.ConfigureResponse) error {
	if ds := diagnosticsFromProto(resp.GetDiagnostics()); len(ds) > 0 {
		msg := resp.GetError()
		if msg == "" {
			msg = ds.Error()
		}
		return &RemoteError{Msg: msg, Diagnostics: ds}
	}
	return remoteErr(resp.GetError())
}

func diagnosticsToProto(ds Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(ds))
	for _, d := range ds {
		pd := &pb.Diagnostic{Severity: pb.Diagnostic_ERROR, Summary: d.Summary, Detail: d.Detail}
		if d.Severity == SeverityWarning {
			pd.Severity = pb.Diagnostic_WARNING
		}
		for _, s := range d.Path {
			switch {
			case s.Name != "":
				pd.Path = append(pd.Path, &pb.PathStep{Step: &pb.PathStep_Name{Name: s.Name}})
			case s.Key != "":
				pd.Path = append(pd.Path, &pb.PathStep{Step: &pb.PathStep_Key{Key: s.Key}})
			default:
				pd.Path = append(pd.Path, &pb.PathStep{Step: &pb.PathStep_Index{Index: int64(s.Index)}})
			}
		}
		out = append(out, pd)
	}
	return out
}

func diagnosticsFromProto(pds []*pb.Diagnostic) Diagnostics {
	if len(pds) == 0 {
		return nil
	}
	out := make(Diagnostics, 0, len(pds))
	for _, pd := range pds {
		d := Diagnostic{Summary: pd.GetSummary(), Detail: pd.GetDetail()}
		if pd.GetSeverity() == pb.Diagnostic_WARNING {
			d.Severity = SeverityWarning
		}
		for _, s := range pd.GetPath() {
			switch st := s.GetStep().(type) {
			case *pb.PathStep_Name:
				d.Path = append(d.Path, PathStep{Name: st.Name})
			case *pb.PathStep_Key:
				d.Path = append(d.Path, PathStep{Key: st.Key})
			case *pb.PathStep_Index:
				d.Path = append(d.Path, PathStep{Index: int(st.Index)})
			}
		}
		out = append(out, d)
	}
	return out
}
