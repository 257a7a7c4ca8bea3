package pushpb

import (
	"crypto/ed25519"
	"crypto/tls"
	"fmt"
)

// The key proof of a Hello (public_key, key_proof): the client signs, with
// its ed25519 key, KeyProofPrefix, this connection's TLS exporter value
// (label KeyProofLabel, no context, 32 bytes) and its UUID. The exporter
// differs on every connection, so a proof cannot be replayed elsewhere.
const (
	KeyProofPrefix = "wigo-push-key-proof-v1\x00"
	KeyProofLabel  = "EXPORTER-wigo-push-key-proof"
)

func keyProofMessage(conn *tls.Conn, uuid string) ([]byte, error) {
	cs := conn.ConnectionState()
	exp, err := cs.ExportKeyingMaterial(KeyProofLabel, nil, 32)
	if err != nil {
		return nil, fmt.Errorf("TLS exporter: %w", err)
	}
	return append(append([]byte(KeyProofPrefix), exp...), uuid...), nil
}

// KeyProof returns the proof, on conn, that the client uuid holds priv.
func KeyProof(conn *tls.Conn, priv ed25519.PrivateKey, uuid string) ([]byte, error) {
	msg, err := keyProofMessage(conn, uuid)
	if err != nil {
		return nil, err
	}
	return ed25519.Sign(priv, msg), nil
}

// VerifyKeyProof reports whether proof shows, on conn, that the client
// uuid holds the private key of pub.
func VerifyKeyProof(conn *tls.Conn, uuid string, pub ed25519.PublicKey, proof []byte) (bool, error) {
	msg, err := keyProofMessage(conn, uuid)
	if err != nil {
		return false, err
	}
	return ed25519.Verify(pub, msg, proof), nil
}
