package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/wigo-project/wigo/core/api"
	"github.com/wigo-project/wigo/core/auth"
	"github.com/wigo-project/wigo/core/config"
	"github.com/wigo-project/wigo/core/daemon"
	"github.com/wigo-project/wigo/core/store"
)

// passwd prints the argon2id hash of a password for a user block's
// password_hash: typed twice without echo on a terminal, else read as the
// first line of stdin (for scripts).
func passwd(stdin io.Reader, stdout, stderr io.Writer) int {
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		first, err := read("Password: ")
		if err != nil {
			fmt.Fprintf(stderr, "wigo passwd: %v\n", err)
			return 1
		}
		again, err := read("Again: ")
		if err != nil {
			fmt.Fprintf(stderr, "wigo passwd: %v\n", err)
			return 1
		}
		if first != again {
			fmt.Fprintln(stderr, "wigo passwd: the two passwords differ")
			return 1
		}
		pw = first
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "wigo passwd: %v\n", err)
			return 1
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if len(pw) < 8 {
		fmt.Fprintln(stderr, "wigo passwd: a password of at least 8 characters, please")
		return 1
	}
	h, err := auth.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(stderr, "wigo passwd: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

const tokenUsage = `Usage:
  wigo [-c FILE] token create -name NAME -role viewer|operator|admin [-expires 30d]
  wigo [-c FILE] token list
  wigo [-c FILE] token revoke ID

Tokens are kept in the configuration's database; the daemon may be running.
A token is printed once, when it is created: keep it, it cannot be shown again.
`

// token manages the API tokens in cfg's database, from the machine itself
// (the first admin token of an instance with a login comes from here).
func token(cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	db, err := daemon.OpenStore(cfg, store.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "wigo token: %v\n", err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	who := "wigo token"
	if u := os.Getenv("USER"); u != "" {
		who += " (" + u + ")"
	}
	switch args[0] {
	case "create":
		fl := flag.NewFlagSet("token create", flag.ContinueOnError)
		fl.SetOutput(stderr)
		name := fl.String("name", "", "what the token is for (e.g. ci, noc-wall)")
		roleName := fl.String("role", "", "viewer, operator or admin")
		expires := fl.String("expires", "", "life, e.g. 30d or 12h (default: never expires)")
		if err := fl.Parse(args[1:]); err != nil {
			return 2
		}
		role, err := auth.ParseRole(*roleName)
		if err != nil || role == auth.RoleNone || *name == "" || fl.NArg() > 0 {
			fmt.Fprint(stderr, tokenUsage)
			return 2
		}
		now := time.Now()
		var until time.Time
		if *expires != "" {
			d, err := api.ParseLife(*expires)
			if err != nil || d <= 0 {
				fmt.Fprintf(stderr, "wigo token: -expires %q: want a duration such as 30d or 12h\n", *expires)
				return 2
			}
			until = now.Add(d)
		}
		info, secret, err := db.CreateToken(ctx, *name, role, who, until, now)
		if err != nil {
			fmt.Fprintf(stderr, "wigo token: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "token %s (%s, %s) created; it is shown this once. Send it as: Authorization: Bearer TOKEN (wigocli: WIGO_TOKEN)\n", info.ID, info.Name, info.Role)
		return 0
	case "list":
		list, err := db.Tokens(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "wigo token: %v\n", err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tBY\tEXPIRES\tLAST USED\tREVOKED")
		day := func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format(time.RFC3339)
		}
		for _, t := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, day(t.Created), t.CreatedBy, day(t.Expires), day(t.LastUsed), day(t.Revoked))
		}
		tw.Flush()
		return 0
	case "revoke":
		if len(args) != 2 {
			fmt.Fprint(stderr, tokenUsage)
			return 2
		}
		if err := db.RevokeToken(ctx, args[1], who, time.Now()); err != nil {
			fmt.Fprintf(stderr, "wigo token: %s: %v\n", args[1], err)
			return 1
		}
		fmt.Fprintf(stdout, "token %s revoked\n", args[1])
		return 0
	}
	fmt.Fprint(stderr, tokenUsage)
	return 2
}
