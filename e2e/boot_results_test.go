package e2e

import (
	"maps"
	"slices"
	"testing"
)

func TestBootCheckResults(t *testing.T) {
	console := []string{
		"[   74.69] check.sh[322]: BOOT-INFO blame 14.406s goipvsadm.service",
		"[   74.70] check.sh[322]: BOOT-CHECK PASS unit-active",
		"[   75.29] check.sh[322]: BOOT-CHECK FAIL bad-line: reload with a bad line succeeded|",
		"[   75.30] check.sh[322]: BOOT-CHECK FAIL no-reason: ",
		"[  OK  ] Reached target multi-user.target - BOOT-CHECK look-alike in a unit name.",
		"BOOT-CHECK PASS restored-at-boot",
	}
	checks, info := bootCheckResults(console)
	want := map[string]string{
		"unit-active":      "",
		"bad-line":         "FAIL reload with a bad line succeeded|",
		"no-reason":        "FAIL ",
		"restored-at-boot": "",
	}
	if !maps.Equal(checks, want) {
		t.Errorf("checks = %q, want %q", checks, want)
	}
	if wantInfo := []string{"blame 14.406s goipvsadm.service"}; !slices.Equal(info, wantInfo) {
		t.Errorf("info = %q, want %q", info, wantInfo)
	}
}
