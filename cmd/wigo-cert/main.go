// Command wigo-cert creates the certificates Wigo uses, like the original's
// generate_cert:
//
//	wigo-cert ca -out /etc/wigo/ssl/ca
//	    a CA (ca.crt, ca.key) for the push server: it signs the push server's
//	    certificate and the UUIDs of push clients (transport-push's ca
//	    attribute points at the directory).
//	wigo-cert server -host wigo.example.org,10.0.0.1 -ca /etc/wigo/ssl/ca \
//	    -cert /etc/wigo/ssl/wigo.crt -key /etc/wigo/ssl/wigo.key
//	    a server certificate for HTTPS (http block) or the push server,
//	    signed by the CA, or self-signed without -ca.
//
// Keys are ECDSA P-256 by default (-type rsa -bits 3072, or -type ed25519);
// private keys are written 0600 and never overwritten without -force.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  wigo-cert ca -out DIR [-cn NAME] [-duration D] [-type ecdsa|rsa|ed25519] [-bits N] [-force]
  wigo-cert server -host H[,H...] -cert FILE -key FILE [-ca DIR] [-cn NAME] [-duration D] [-type ...] [-bits N] [-force]
`

// keyOpts are the flags shared by both commands.
type keyOpts struct {
	cn       string
	duration time.Duration
	keyType  string
	bits     int
	force    bool
}

func (o *keyOpts) register(fs *flag.FlagSet, cn string, d time.Duration) {
	fs.StringVar(&o.cn, "cn", cn, "certificate common name")
	fs.DurationVar(&o.duration, "duration", d, "validity, e.g. 8760h")
	fs.StringVar(&o.keyType, "type", "ecdsa", "key type: ecdsa, rsa or ed25519")
	fs.IntVar(&o.bits, "bits", 0, "key size: ecdsa 256, 384 or 521 (default 256); rsa 2048 to 8192 (default 3072)")
	fs.BoolVar(&o.force, "force", false, "overwrite existing files")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "ca":
		err = runCA(args[1:], stdout, stderr)
	case "server":
		err = runServer(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wigo-cert: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "wigo-cert:", err)
		return 1
	}
	return 0
}

func runCA(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wigo-cert ca", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o keyOpts
	o.register(fs, "Wigo CA", 10*365*24*time.Hour)
	out := fs.String("out", "", "directory for ca.crt and ca.key (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("-out is required")
	}
	crt, key := filepath.Join(*out, "ca.crt"), filepath.Join(*out, "ca.key")
	if err := o.check(crt, key); err != nil {
		return err
	}
	k, err := newKey(o.keyType, o.bits)
	if err != nil {
		return err
	}
	tpl, err := template(o)
	if err != nil {
		return err
	}
	tpl.IsCA = true
	tpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	tpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, k.Public(), k)
	if err != nil {
		return fmt.Errorf("create CA certificate: %w", err)
	}
	if err := write(crt, key, der, k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", crt, key)
	return nil
}

func runServer(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wigo-cert server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o keyOpts
	o.register(fs, "", 2*365*24*time.Hour)
	hosts := fs.String("host", "", "comma-separated host names and IP addresses (required)")
	caDir := fs.String("ca", "", "directory of the CA (ca.crt, ca.key) that signs; self-signed when empty")
	crt := fs.String("cert", "", "certificate file to write (required)")
	key := fs.String("key", "", "key file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var names []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	if len(names) == 0 || *crt == "" || *key == "" {
		return errors.New("-host, -cert and -key are required")
	}
	if o.cn == "" {
		o.cn = names[0]
	}
	if err := o.check(*crt, *key); err != nil {
		return err
	}
	k, err := newKey(o.keyType, o.bits)
	if err != nil {
		return err
	}
	tpl, err := template(o)
	if err != nil {
		return err
	}
	tpl.KeyUsage = x509.KeyUsageDigitalSignature
	if o.keyType == "rsa" {
		tpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	tpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, h := range names {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	parent, signer := tpl, crypto.Signer(k)
	if *caDir != "" {
		if parent, signer, err = loadCA(*caDir); err != nil {
			return err
		}
		if tpl.NotAfter.After(parent.NotAfter) {
			tpl.NotAfter = parent.NotAfter // a certificate cannot outlive its CA
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, k.Public(), signer)
	if err != nil {
		return fmt.Errorf("create server certificate: %w", err)
	}
	if err := write(*crt, *key, der, k); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s for %s\n", *crt, *key, strings.Join(names, ", "))
	return nil
}

// check validates the options and refuses to overwrite files: replacing a
// CA key silently would invalidate every push client's signature.
func (o keyOpts) check(files ...string) error {
	if o.duration <= 0 {
		return fmt.Errorf("-duration %v: must be positive", o.duration)
	}
	if !o.force {
		for _, f := range files {
			if _, err := os.Stat(f); err == nil {
				return fmt.Errorf("%s exists (use -force to overwrite)", f)
			}
		}
	}
	return nil
}

func newKey(kind string, bits int) (crypto.Signer, error) {
	switch kind {
	case "ecdsa":
		var c elliptic.Curve
		switch bits {
		case 0, 256:
			c = elliptic.P256()
		case 384:
			c = elliptic.P384()
		case 521:
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("-bits %d: ecdsa takes 256, 384 or 521", bits)
		}
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		return k, nil
	case "rsa":
		if bits == 0 {
			bits = 3072
		}
		if bits < 2048 || bits > 8192 {
			return nil, fmt.Errorf("-bits %d: rsa takes 2048 to 8192", bits)
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		return k, nil
	case "ed25519":
		if bits != 0 {
			return nil, errors.New("-bits: ed25519 keys have one size")
		}
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("-type %q: want ecdsa, rsa or ed25519", kind)
}

func template(o keyOpts) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.cn, Organization: []string{"Wigo"}},
		// An hour back tolerates clocks a little behind.
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(o.duration),
		BasicConstraintsValid: true,
	}, nil
}

func loadCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s: no PEM certificate", filepath.Join(dir, "ca.crt"))
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%s is not a CA certificate", filepath.Join(dir, "ca.crt"))
	}
	b, err = os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, nil, fmt.Errorf("read CA key: %w", err)
	}
	blk, _ = pem.Decode(b)
	if blk == nil {
		return nil, nil, fmt.Errorf("%s: no PEM key", filepath.Join(dir, "ca.key"))
	}
	var k any
	switch blk.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parse CA key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("CA key type %T cannot sign", k)
	}
	return cert, s, nil
}

// write writes the key (0600, first: a certificate without its key is
// useless) and the certificate (0644), each through a temporary file.
func write(certPath, keyPath string, der []byte, k crypto.Signer) error {
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("encode key: %w", err)
	}
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return err
	}
	return writeFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
