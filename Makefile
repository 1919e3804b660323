# goipvsadm build, test and end-to-end targets. See e2e/README.md for e2e.

GO ?= go

# End-to-end tests boot Debian kernels under QEMU (TCG, no network).
# Packages whose //go:build e2e tests run inside the guest:
E2E_PKGS ?= ./e2e/smoketest/... ./ipvs/... ./cmd/goipvsadm/...
# Kernels to boot: 6.1 and/or 6.12.
E2E_KERNELS ?= 6.1 6.12
# -test.run and -test.timeout for the test binaries in the guest.
E2E_RUN ?=
E2E_TIMEOUT ?= 5m
# 1: run the guest tests with -update and write their testdata/ back here
# (needs one kernel: make e2e E2E_KERNELS=6.1 E2E_UPDATE=1).
E2E_UPDATE ?=
# Downloads and prepared kernels/userland; outside the repository.
E2E_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/goipvsadm-e2e
# Compiled test binaries and goipvsadm for the guest.
E2E_PAYLOAD ?= $(E2E_CACHE)/payload
DEMO_PAYLOAD ?= $(E2E_CACHE)/demo-payload

export E2E_CACHE

.PHONY: all build test vet e2e e2e-fetch e2e-payload demo

all: build

build:
	$(GO) build ./...

test:
	$(GO) test ./...

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...

e2e-fetch:
	e2e/fetch.sh $(E2E_KERNELS)

e2e-payload:
	e2e/build-payload.sh $(E2E_PAYLOAD) $(E2E_PKGS)

# The host-side test boots one guest per kernel, in parallel.
e2e: e2e-fetch e2e-payload
	GOIPVSADM_E2E_HOST=1 E2E_PAYLOAD=$(E2E_PAYLOAD) E2E_KERNELS="$(E2E_KERNELS)" \
	E2E_RUN='$(E2E_RUN)' E2E_TIMEOUT=$(E2E_TIMEOUT) E2E_UPDATE=$(E2E_UPDATE) \
		$(GO) test ./e2e -run '^TestE2E$$' -count=1 -v -timeout 20m

# The classic LVS examples, run with goipvsadm in a 6.1 guest.
demo:
	e2e/fetch.sh 6.1
	e2e/build-payload.sh --goipvsadm-optional $(DEMO_PAYLOAD)
	$(GO) run ./e2e/cmd/vmrun -kernel 6.1 -script e2e/demo.sh -files $(DEMO_PAYLOAD)
