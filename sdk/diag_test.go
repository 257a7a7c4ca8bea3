package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

func TestConfigureReplyRoundTrip(t *testing.T) {
	nested := AttributePath("target").Key("ops").Attr("urls").Index(1)
	for name, tc := range map[string]struct {
		err     error
		wantMsg string      // what an older host shows
		want    Diagnostics // what this host places
	}{
		"accepted":    {},
		"plain error": {err: errors.New("port in use"), wantMsg: "port in use"},
		"attribute": {err: AttributeError("url", "want http"),
			wantMsg: `url: Invalid value for "url"; want http`,
			want:    Diagnostics{{Summary: `Invalid value for "url"`, Detail: "want http", Path: Path{{Name: "url"}}}}},
		"wrapped": {err: fmt.Errorf("check: %w", Diagnostics{{Summary: "bad", Path: nested}}),
			wantMsg: `target["ops"].urls[1]: bad`,
			want:    Diagnostics{{Summary: "bad", Path: nested}}},
		"warnings only": {err: Diagnostics{{Severity: SeverityWarning, Summary: "deprecated", Path: AttributePath("old")}},
			want: Diagnostics{{Severity: SeverityWarning, Summary: "deprecated", Path: Path{{Name: "old"}}}}},
		"error and warning": {err: Diagnostics{{Severity: SeverityWarning, Summary: "w"}, {Summary: "e", Detail: "fix it"}},
			wantMsg: "e; fix it",
			want:    Diagnostics{{Severity: SeverityWarning, Summary: "w"}, {Summary: "e", Detail: "fix it"}}},
	} {
		t.Run(name, func(t *testing.T) {
			resp := configureReply(tc.err)
			if resp.GetError() != tc.wantMsg {
				t.Errorf("error string = %q, want %q", resp.GetError(), tc.wantMsg)
			}
			err := configureResult(resp)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("configureResult = %v, want nil", err)
				}
				return
			}
			var remote *RemoteError
			if !errors.As(err, &remote) {
				t.Fatalf("configureResult = %T %v, want a *RemoteError", err, err)
			}
			if !reflect.DeepEqual(remote.Diagnostics, tc.want) {
				t.Errorf("diagnostics = %#v, want %#v", remote.Diagnostics, tc.want)
			}
			if len(tc.want) > 0 && remote.Diagnostics.HasErrors() != tc.want.HasErrors() {
				t.Errorf("HasErrors changed across the wire")
			}
		})
	}
}

func TestPathBuildersDoNotShareBackingArrays(t *testing.T) {
	base := make(Path, 1, 4)
	base[0] = PathStep{Name: "target"}
	a, b := base.Key("a"), base.Key("b")
	if a.String() != `target["a"]` || b.String() != `target["b"]` {
		t.Fatalf("paths = %s, %s", a, b)
	}
}
