// Stand-in for the module github.com/moby/ipvs when its ipvs_linux_test.go
// runs against ./moby/ipvs (e2e/build-moby-tests.sh): it holds only the
// helper package that test imports. Not part of goipvsadm's module.
module github.com/moby/ipvs

go 1.17
