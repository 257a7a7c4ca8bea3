package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// LoadOrCreateUUID reads the instance UUID from path, creating the file
// (0600, parent directory 0700) with a new random UUID the first time. A
// masters deduplicates hosts by this UUID, so a file that exists but holds
// garbage is an error, never silently replaced.
func LoadOrCreateUUID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if _, perr := uuid.Parse(id); perr != nil {
			return "", fmt.Errorf("uuid file %s: %q is not a UUID: %w (remove the file to get a new one)", path, truncate(id, 60), perr)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read uuid file %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create directory for uuid file %s: %w", path, err)
	}
	id := uuid.NewString()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create uuid file %s: %w", path, err)
	}
	if _, err := f.WriteString(id + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write uuid file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", fmt.Errorf("sync uuid file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close uuid file %s: %w", path, err)
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
