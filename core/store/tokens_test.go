package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wigo-project/wigo/core/auth"
)

// A token works from its secret only (the store keeps its digest), until
// it expires or is revoked; the revoked row stays in the list; its last use
// is recorded.
func TestTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
		info, secret, err := s.CreateToken(ctx, "ci", auth.RoleViewer, "alice", now.Add(30*24*time.Hour), now)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "wigo_") || len(secret) < 40 || info.Role != auth.RoleViewer || info.CreatedBy != "alice" {
			t.Fatalf("created %+v, secret %q", info, secret)
		}
		var stored int
		if err := s.r.QueryRow(`SELECT count(*) FROM tokens WHERE hash = ? OR hash = ?`, secret, strings.TrimPrefix(secret, "wigo_")).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the secret itself is stored (%d rows, %v)", stored, err)
		}
		tok, err := s.TokenByHash(ctx, auth.HashToken(secret), now.Add(time.Hour))
		if err != nil || tok.Name != "ci" || tok.Role != auth.RoleViewer {
			t.Fatalf("lookup: %+v %v", tok, err)
		}
		if _, err := s.TokenByHash(ctx, auth.HashToken(secret+"x"), now); !errors.Is(err, auth.ErrNoToken) {
			t.Errorf("a wrong secret: %v", err)
		}
		if _, err := s.TokenByHash(ctx, auth.HashToken(secret), now.Add(31*24*time.Hour)); !errors.Is(err, auth.ErrNoToken) {
			t.Errorf("expired: %v", err)
		}
		list, err := s.Tokens(ctx)
		if err != nil || len(list) != 1 || !list[0].LastUsed.Equal(now.Add(time.Hour)) {
			t.Fatalf("list: %+v %v, want the use an hour after creation", list, err)
		}
		if err := s.RevokeToken(ctx, info.ID, "bob", now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, info.ID, "bob", now.Add(2*time.Hour)); !errors.Is(err, ErrTokenNotFound) {
			t.Errorf("second revoke: %v", err)
		}
		if _, err := s.TokenByHash(ctx, auth.HashToken(secret), now.Add(3*time.Hour)); !errors.Is(err, auth.ErrNoToken) {
			t.Errorf("revoked: %v", err)
		}
		if list, _ := s.Tokens(ctx); len(list) != 1 || list[0].RevokedBy != "bob" || list[0].Revoked.IsZero() {
			t.Errorf("after revoke: %+v, want the row kept with who revoked it", list)
		}
	})
}
