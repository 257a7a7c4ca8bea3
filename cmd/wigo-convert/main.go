// Command wigo-convert turns an original Wigo configuration (TOML
// wigo.conf) into the equivalent HCL for this Wigo.
//
//	wigo-convert [-o FILE] [wigo.conf]
//
// The input defaults to /etc/wigo/wigo.conf ("-" reads stdin); the HCL goes
// to stdout, or to FILE with -o. Every original option that cannot be
// carried over as is is reported on stderr as "warning: OPTION: why", so
// nothing is dropped silently; the exit code is 0 even with warnings (the
// file is still usable), 1 when the input cannot be read or parsed, 2 on bad
// usage. Check the result with `wigo -c FILE -check`.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// defaultInput is where the original Wigo package kept its configuration.
const defaultInput = "/etc/wigo/wigo.conf"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("wigo-convert", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("o", "", "write the HCL to this file instead of stdout")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wigo-convert [-o FILE] [wigo.conf]\n\n"+
			"Converts an original Wigo wigo.conf (TOML, default %s) to HCL.\n"+
			"Options that cannot be converted are reported on stderr.\n\n", defaultInput)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() > 1 {
		fl.Usage()
		return 2
	}
	in := defaultInput
	if fl.NArg() == 1 {
		in = fl.Arg(0)
	}
	var src []byte
	var err error
	if in == "-" {
		src, err = io.ReadAll(stdin)
	} else {
		src, err = os.ReadFile(in)
	}
	if err != nil {
		fmt.Fprintf(stderr, "wigo-convert: %v\n", err)
		return 1
	}
	res, err := Convert(src)
	if err != nil {
		fmt.Fprintf(stderr, "wigo-convert: %s: %v\n", in, err)
		return 1
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *out == "" {
		if _, err := stdout.Write(res.HCL); err != nil {
			fmt.Fprintf(stderr, "wigo-convert: %v\n", err)
			return 1
		}
		return 0
	}
	if err := writeFile(*out, res.HCL); err != nil {
		fmt.Fprintf(stderr, "wigo-convert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s (%d warning(s)); check it with: wigo -c %s -check\n", *out, len(res.Warnings), *out)
	return 0
}

// writeFile writes through a temporary file and a rename so an interrupted
// run never leaves half a configuration behind. Mode 0640: the file may hold
// passwords (http, pull remotes, SMTP).
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".wigo-convert-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
