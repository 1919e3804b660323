// Package smoketest holds the e2e harness's own check: its tests (built with
// -tags e2e and run inside the guest by make e2e) drive the reference ipvsadm
// against the guest kernel, proving that the modules, on-demand module
// loading, the network interfaces and name resolution work before any
// project test relies on them.
package smoketest
