// Package servicetest tests the boot helper packaging/goipvsadm-boot, which
// goipvsadm.service runs.
//
// The host tests (helper_test.go, part of go test ./...) run the helper
// with a stand-in for goipvsadm that records its arguments and input: the
// settings' precedence, the rules file choice, comment stripping, saving
// and the sync daemons' arguments. The e2e tests (service_e2e_test.go,
// built with -tags e2e and run in the QEMU guest by make e2e) run it
// against the guest kernel with the real goipvsadm and compare the table
// with the reference ipvsadm's view.
//
// The guest has no repository, so the helper is used from
// testdata/goipvsadm-boot, a copy that TestHelperCopyIsCurrent keeps equal
// to packaging/goipvsadm-boot (refresh it with
// cp packaging/goipvsadm-boot e2e/servicetest/testdata/).
package servicetest
