package testbin

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

func output(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return strings.TrimSpace(string(out))
}

// TestBuildOncePerTagSet: the same package asked for twice is built once
// (same file, same inode); other tags give another binary beside it.
func TestBuildOncePerTagSet(t *testing.T) {
	a := Build(t, "./testdata/hello")
	st, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	b := Build(t, "./testdata/hello")
	st2, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || !os.SameFile(st, st2) || !st.ModTime().Equal(st2.ModTime()) {
		t.Errorf("second Build gave %s, want the first binary %s again", b, a)
	}
	loud := Build(t, "./testdata/hello", "loud")
	if loud == a {
		t.Fatalf("tagged build overwrote the plain one at %s", a)
	}
	if got := output(t, a); got != "hello" {
		t.Errorf("plain binary says %q", got)
	}
	if got := output(t, loud); got != "HELLO" {
		t.Errorf("loud binary says %q", got)
	}
}

func TestBuildFailureSaysWhy(t *testing.T) {
	_, err := BuildPackage("./testdata/nope")
	if err == nil || !strings.Contains(err.Error(), "go build ./testdata/nope") {
		t.Fatalf("err = %v", err)
	}
	if _, again := BuildPackage("./testdata/nope"); again == nil || again.Error() != err.Error() {
		t.Fatalf("second call = %v, want the same failure", again)
	}
}
