package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnsureAppUserFinishesACutRun: a run cut off after the group was
// written (and before passwd) leaves one group entry; the next run keeps
// its id for the user and writes each database once.
func TestEnsureAppUserFinishesACutRun(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/passwd":  "root:x:0:0:root:/root:/bin/bash\nsystemd:x:999:999::/:/usr/sbin/nologin\n",
		"etc/group":   "root:x:0:\nsystemd:x:999:\napp-shop:x:997:\n",
		"etc/shadow":  "root:*:19000:0:99999:7:::\n",
		"etc/gshadow": "root:*::\n",
	}
	for name, content := range files {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsr, err := openFSRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer fsr.close()
	r := &run{fs: fsr}
	for i := 0; i < 2; i++ { // and once more: nothing changes
		uid, gid, err := r.ensureAppUser("shop", "app-shop")
		if err != nil || uid != 997 || gid != 997 {
			t.Fatalf("ensureAppUser: %d %d %v; want the group's id 997 for both", uid, gid, err)
		}
	}
	for name, want := range map[string]string{"etc/passwd": "app-shop:x:997:997:", "etc/group": "app-shop:x:997:", "etc/shadow": "app-shop:!:", "etc/gshadow": "app-shop:!::"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "app-shop:"); n != 1 || !strings.Contains(string(b), want) {
			t.Errorf("%s has %d app-shop entries, want one like %q:\n%s", name, n, want, b)
		}
	}
}
