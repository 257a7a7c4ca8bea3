package plugin

import (
	"fmt"
	"os"
	"sort"
)

// Discover lists the executable regular files in dir, the plugin names a
// block may use; for `wigo -check` hints and the health API. A missing dir
// is an error, since no plugin can start then.
func Discover(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list plugins_dir: %w", err)
	}
	var names []string
	for _, e := range entries {
		info, err := os.Stat(dir + string(os.PathSeparator) + e.Name()) // follows symlinks
		if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 {
			continue
		}
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}
