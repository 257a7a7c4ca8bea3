package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/wigo-project/wigo/plugins/transport-push/pushpb"
)

// Client keys bind a signature to the client that asked for it: every
// client holds an ed25519 key pair (generated on its first start, kept
// 0600 next to uuid_sig), sends its public key in the hello with a proof
// that it holds the private key (a signature of this TLS connection's
// exporter value and its UUID), and the master signs the UUID together
// with that public key. Knowing a UUID, or even holding a copy of uuid_sig,
// is then not enough to push as that client or to collect its signature.

// clientSigPrefix domain-separates the master's signatures of a client
// (UUID and key) from anything else its key signs.
const clientSigPrefix = "wigo-push-client-v2\x00"

// clientKeyName is the key file's name, in uuid_sig's directory.
const clientKeyName = "push_client.key"

// clientKeyPath is where a client keeps its key: client_key, or
// push_client.key next to uuid_sig.
func clientKeyPath(cfg clientConfig) string {
	if cfg.ClientKey != "" {
		return cfg.ClientKey
	}
	return filepath.Join(filepath.Dir(cfg.UUIDSig), clientKeyName)
}

// loadClientKey reads the client's key, creating it (0600) on first start.
func loadClientKey(log hclog.Logger, path string) (ed25519.PrivateKey, error) {
	if !fileExists(path) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate client key: %w", err)
		}
		b, err := keyPEM(priv)
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("write client key: %w", err)
		}
		log.Info("push client key created", "file", path, "fingerprint", keyFingerprint(priv.Public().(ed25519.PublicKey)))
	}
	k, err := readKey(path)
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("client key %s: %T, want an ed25519 key", path, k)
	}
	return priv, nil
}

// keyFingerprint is how a client key is shown to an operator (in the
// client's log and the master's), as OpenSSH shows keys.
func keyFingerprint(pub ed25519.PublicKey) string {
	if len(pub) == 0 {
		return "none"
	}
	h := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// keyProof proves that the client uuid holds priv, on conn
// (pushpb.KeyProof).
func keyProof(conn *tls.Conn, priv ed25519.PrivateKey, uuid string) ([]byte, error) {
	return pushpb.KeyProof(conn, priv, uuid)
}

// errKeyProof: the hello's key proof does not verify on this connection.
var errKeyProof = errors.New("the client key proof does not verify on this connection")

// checkKeyProof verifies a hello's public key and proof on conn; a hello
// without a key gives a nil key and no error (a client from before keys).
func checkKeyProof(conn *tls.Conn, uuid string, pub, proof []byte) (ed25519.PublicKey, error) {
	if len(pub) == 0 {
		return nil, nil
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key of %d bytes, want an ed25519 key of %d", len(pub), ed25519.PublicKeySize)
	}
	ok, err := pushpb.VerifyKeyProof(conn, uuid, pub, proof)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errKeyProof
	}
	return ed25519.PublicKey(pub), nil
}

func clientSigMessage(uuid string, pub ed25519.PublicKey) []byte {
	return append(append([]byte(clientSigPrefix+uuid), 0), pub...)
}

// signClient signs uuid bound to the client key pub with the authority key.
func signClient(key crypto.Signer, uuid string, pub ed25519.PublicKey) ([]byte, error) {
	msg := clientSigMessage(uuid, pub)
	if _, ok := key.(ed25519.PrivateKey); ok {
		return key.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	d := sha256.Sum256(msg)
	sig, err := key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign client: %w", err)
	}
	return sig, nil
}

// verifyClient checks a signature made by signClient.
func verifyClient(pub crypto.PublicKey, uuid string, client ed25519.PublicKey, sig []byte) bool {
	return verifyMessage(pub, clientSigMessage(uuid, client), sig)
}
