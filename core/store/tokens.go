package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/wigo-project/wigo/core/auth"
)

// TokenInfo is one API token as the list shows it: never its secret.
type TokenInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	// Expires, LastUsed and Revoked are zero when the token never
	// expires, was never used, is not revoked.
	Expires   time.Time `json:"expires,omitzero"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Revoked   time.Time `json:"revoked,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// tokenPrefix starts every token, so a secret scanner (and a person)
// knows one when it sees it.
const tokenPrefix = "wigo_"

// ErrTokenNotFound is RevokeToken's answer for an unknown or already
// revoked token.
var ErrTokenNotFound = errors.New("no such token in force")

// CreateToken makes a token for name with role, valid until expires (zero:
// never): the secret is returned once and only its SHA-256 is kept.
func (s *Store) CreateToken(ctx context.Context, name string, role auth.Role, createdBy string, expires, now time.Time) (TokenInfo, string, error) {
	if s.isClosed() {
		return TokenInfo{}, "", ErrClosed
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return TokenInfo{}, "", fmt.Errorf("token secret: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := TokenInfo{ID: uuid.NewString(), Name: name, Role: role, Created: now.UTC().Truncate(time.Second), CreatedBy: createdBy}
	var exp int64
	if !expires.IsZero() {
		t.Expires = expires.UTC().Truncate(time.Second)
		exp = t.Expires.Unix()
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO tokens (id, name, hash, role, created, created_by, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.ID, name, auth.HashToken(secret), role.String(), t.Created.Unix(), createdBy, exp); err != nil {
		return TokenInfo{}, "", fmt.Errorf("store token %s: %w", name, err)
	}
	return t, secret, nil
}

// Tokens lists every token, revoked ones included (who held what), newest
// first.
func (s *Store) Tokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, role, created, created_by, expires, last_used, revoked, revoked_by
		FROM tokens ORDER BY created DESC, name`)
	if err != nil {
		return nil, fmt.Errorf("read tokens: %w", err)
	}
	defer rows.Close()
	out := []TokenInfo{}
	for rows.Next() {
		var t TokenInfo
		var role string
		var created, expires, used, revoked int64
		if err := rows.Scan(&t.ID, &t.Name, &role, &created, &t.CreatedBy, &expires, &used, &revoked, &t.RevokedBy); err != nil {
			return nil, fmt.Errorf("read tokens: %w", err)
		}
		t.Role, _ = auth.ParseRole(role)
		t.Created = time.Unix(created, 0).UTC()
		t.Expires, t.LastUsed, t.Revoked = unixOrZero(expires), unixOrZero(used), unixOrZero(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// RevokeToken ends the token id now; its row stays, with who revoked it.
func (s *Store) RevokeToken(ctx context.Context, id, by string, now time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE tokens SET revoked = ?, revoked_by = ? WHERE id = ? AND revoked = 0`, now.Unix(), by, id)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrTokenNotFound
	}
	return nil
}

// usedEvery is how often a token's last use is written: not on every
// request of a script that polls every second.
const usedEvery = time.Minute

// TokenByHash implements auth.Tokens: the token whose secret has that
// SHA-256, if it is neither revoked nor expired at now. Its last use is
// recorded (at most once a minute).
func (s *Store) TokenByHash(ctx context.Context, hash string, now time.Time) (auth.Token, error) {
	var t auth.Token
	var role string
	var expires, used int64
	err := s.r.QueryRowContext(ctx, `SELECT id, name, role, expires, last_used FROM tokens WHERE hash = ? AND revoked = 0`, hash).
		Scan(&t.ID, &t.Name, &role, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return t, auth.ErrNoToken
	}
	if err != nil {
		return t, fmt.Errorf("read token: %w", err)
	}
	if expires != 0 && now.Unix() >= expires {
		return t, auth.ErrNoToken
	}
	if t.Role, err = auth.ParseRole(role); err != nil {
		return t, fmt.Errorf("token %s: %w", t.ID, err)
	}
	if now.Unix()-used >= int64(usedEvery/time.Second) && !s.isClosed() {
		if _, err := s.w.ExecContext(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, now.Unix(), t.ID); err != nil {
			return t, fmt.Errorf("record the use of token %s: %w", t.ID, err)
		}
	}
	return t, nil
}
