// Package testref locates the independent reference data that CI places
// beside the checkout (../shared/reference). Tests that use it skip with a
// clear message when it is absent — unless GOCLIP_REQUIRE_SHARED=1, as
// .ci/run sets, in which case its absence fails the test instead of hiding
// the check.
package testref

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the absolute path of shared/reference, or skips (fails under
// GOCLIP_REQUIRE_SHARED=1) when it cannot be found. It walks up from the
// test's working directory (the package directory) to the module root.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("GOCLIP_SHARED_REFERENCE"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			ref := filepath.Join(filepath.Dir(d), "shared", "reference")
			if _, err := os.Stat(filepath.Join(ref, "README.md")); err == nil {
				return ref
			}
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if os.Getenv("GOCLIP_REQUIRE_SHARED") == "1" {
		t.Fatal("shared reference data (../shared/reference) not found, and GOCLIP_REQUIRE_SHARED=1")
	}
	t.Skip("independent check skipped: ../shared/reference not found beside the checkout")
	return ""
}
