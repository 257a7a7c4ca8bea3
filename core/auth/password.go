package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// The argon2id parameters HashPassword uses: OWASP's 19 MiB, 2 passes, one
// lane. Verification reads them from the hash, within the bounds below.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on the parameters a configured hash may ask for, so that a
// hand-edited hash cannot make every login cost a gigabyte.
const (
	maxArgonMemory  = 256 * 1024
	maxArgonTime    = 10
	maxArgonThreads = 16
)

// HashPassword returns password's argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash), for a user block's
// password_hash (wigo passwd).
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckHash reports whether hash is one VerifyPassword can check: argon2id
// (PHC format, parameters within bounds) or bcrypt ($2a$, $2b$, $2y$).
func CheckHash(hash string) error {
	if isBcrypt(hash) {
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("bcrypt hash: %w", err)
		}
		return nil
	}
	_, err := parseArgon(hash)
	return err
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$")
}

type argonHash struct {
	memory       uint32
	time         uint32
	threads      uint8
	salt, digest []byte
}

var errArgonFormat = errors.New(`want "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (wigo passwd) or a bcrypt hash`)

func parseArgon(hash string) (argonHash, error) {
	var h argonHash
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errArgonFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("argon2id version %q: want v=%d", parts[2], argon2.Version)
	}
	var m, t, p uint64
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return h, errArgonFormat
	}
	if m < 8 || m > maxArgonMemory || t < 1 || t > maxArgonTime || p < 1 || p > maxArgonThreads {
		return h, fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d: want m up to %d KiB, t up to %d, p up to %d", m, t, p,
			maxArgonMemory, maxArgonTime, maxArgonThreads)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return h, errors.New("argon2id salt: want at least 8 bytes, unpadded base64")
	}
	digest, err := b64.DecodeString(parts[5])
	if err != nil || len(digest) < 16 || len(digest) > 64 {
		return h, errors.New("argon2id hash: want 16 to 64 bytes, unpadded base64")
	}
	return argonHash{memory: uint32(m), time: uint32(t), threads: uint8(p), salt: salt, digest: digest}, nil
}

// VerifyPassword reports whether password matches hash (CheckHash's
// formats), comparing in constant time.
func VerifyPassword(hash, password string) bool {
	if isBcrypt(hash) {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	h, err := parseArgon(hash)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.digest)))
	return subtle.ConstantTimeCompare(got, h.digest) == 1
}
