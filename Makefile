# goipvsadm build, test and end-to-end targets. See e2e/README.md for e2e.

GO ?= go

# End-to-end tests boot Debian kernels under QEMU (TCG, no network).
# Packages whose //go:build e2e tests run inside the guest:
E2E_PKGS ?= ./e2e/smoketest/... ./ipvs/... ./cmd/goipvsadm/... ./e2e/servicetest/...
# moby/ipvs's own tests (ipvs_linux_test.go of github.com/moby/ipvs at this
# version, fetched through the Go module proxy) run against ./moby/ipvs in
# the guest too; empty leaves them out. See e2e/build-moby-tests.sh.
E2E_MOBY_TESTS ?= v1.1.0
# Kernels to boot: 6.1 and/or 6.12.
E2E_KERNELS ?= 6.1 6.12
# -test.run and -test.timeout for the test binaries in the guest.
E2E_RUN ?=
E2E_TIMEOUT ?= 25m
# 1: run the guest tests with -update and write their testdata/ back here
# (needs one kernel: make e2e E2E_KERNELS=6.1 E2E_UPDATE=1).
E2E_UPDATE ?=
# Downloads and prepared kernels/userland; outside the repository.
E2E_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/goipvsadm-e2e
# Compiled test binaries and goipvsadm for the guest.
E2E_PAYLOAD ?= $(E2E_CACHE)/payload
DEMO_PAYLOAD ?= $(E2E_CACHE)/demo-payload

# A guest gets this long in all (TCG is slow; the random differential
# test and the interruption trials of cmd/goipvsadm take most of a run).
E2E_VM_TIMEOUT ?= 30m

export E2E_CACHE E2E_VM_TIMEOUT

.PHONY: all build test vet check-deps e2e e2e-fetch e2e-payload e2e-random demo bench bench-go fuzz

all: build

build:
	$(GO) build ./...

# The library, restore and moby/ipvs run again under the race detector: a Client is
# shared by goroutines (writers and dumps mixed). The s390x build checks
# that nothing assumes a little-endian host. The library builds on every
# GOOS in LIB_GOOS (off Linux a Client reports ErrUnavailable). The example
# module (examples/controller, its own go.mod) uses only public packages.
# The library packages are tested with each Go release supported upstream
# (GO_TOOLCHAINS: the newest patch of the two newest majors, fetched
# through the module proxy by GOTOOLCHAIN; go.mod's go line is the older).
LIB_GOOS ?= linux darwin windows freebsd
LIB_PKGS ?= ./ipvs/... ./reconcile/... ./restore/... ./save/... ./moby/...
GO_TOOLCHAINS ?= go1.26.11 go1.27.4
test: check-deps
	$(GO) test ./...
	$(GO) test -race ./ipvs/... ./reconcile/... ./restore/... ./moby/...
	GOARCH=s390x $(GO) vet ./ipvs/... ./reconcile/... ./restore/... ./moby/...
	for os in $(LIB_GOOS); do GOOS=$$os $(GO) build ./ipvs/... ./reconcile/... || exit 1; done
	cd examples/controller && $(GO) vet ./... && $(GO) test ./...
	for tc in $(GO_TOOLCHAINS); do GOTOOLCHAIN=$$tc $(GO) test $(LIB_PKGS) || exit 1; done

# The library and the reconcile package must not depend on the command
# line: neither spf13/pflag nor internal/cmdline. The public packages of
# the rules format and of plans name no internal type in their API.
NO_CMDLINE_PKGS = ./ipvs/... ./reconcile/...
PUBLIC_API_PKGS = ./ipvs ./ipvs/ipvstest ./reconcile ./restore ./save ./moby/ipvs
INTERNAL_NAMES = cmdline|names|listing|rulefmt|benchrules|uapi|pflag
check-deps:
	@for p in $(PUBLIC_API_PKGS); do \
		doc=$$($(GO) doc -all $$p) || exit 1; \
		bad=$$(printf '%s\n' "$$doc" | grep -E '\b($(INTERNAL_NAMES))\.[A-Za-z]'); \
		if [ -n "$$bad" ]; then echo "check-deps: the API of $$p names internal types:" >&2; echo "$$bad" >&2; exit 1; fi; \
	done
	@deps=$$($(GO) list -deps $(NO_CMDLINE_PKGS)) || exit 1; \
	bad=$$(printf '%s\n' "$$deps" | grep -E '^github\.com/spf13/pflag(/|$$)|/internal/cmdline(/|$$)'); \
	if [ -n "$$bad" ]; then echo "check-deps: $(NO_CMDLINE_PKGS) depend on:" $$bad >&2; exit 1; fi

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...
	$(GO) vet -tags mobyupstream ./moby/...

e2e-fetch:
	e2e/fetch.sh $(E2E_KERNELS)

e2e-payload:
	e2e/build-payload.sh $(E2E_PAYLOAD) $(E2E_PKGS)
	$(if $(E2E_MOBY_TESTS),e2e/build-moby-tests.sh $(E2E_PAYLOAD) $(E2E_MOBY_TESTS))

# The host-side test boots one guest per kernel, in parallel.
e2e: e2e-fetch e2e-payload
	GOIPVSADM_E2E_HOST=1 E2E_PAYLOAD=$(E2E_PAYLOAD) E2E_KERNELS="$(E2E_KERNELS)" \
	E2E_RUN='$(E2E_RUN)' E2E_TIMEOUT=$(E2E_TIMEOUT) E2E_UPDATE=$(E2E_UPDATE) \
		$(GO) test ./e2e -run '^TestE2E$$' -count=1 -v -timeout 40m

# Random differential testing against Debian's ipvsadm (cmd/goipvsadm,
# TestRandomDifferential; make e2e runs it too, 5,000 command lines and 300
# rules files per kernel with a fresh seed, printed). Replay a run, or run
# a bigger one:
#   make e2e-random SEED=1234 E2E_KERNELS=6.1 [LINES=100000 FILES=6000]
# DAEMONS=1 adds --start-daemon/--stop-daemon lines (see e2e/README.md).
SEED ?=
DAEMONS ?=
LINES ?=
FILES ?=
e2e-random: e2e-fetch
	e2e/build-payload.sh $(E2E_PAYLOAD) ./cmd/goipvsadm/...
	GOIPVSADM_E2E_HOST=1 E2E_PAYLOAD=$(E2E_PAYLOAD) E2E_KERNELS="$(E2E_KERNELS)" \
	E2E_RUN='$(or $(E2E_RUN),^TestRandomDifferential$$)' E2E_TIMEOUT=$(E2E_TIMEOUT) \
	E2E_RANDOM_SEED=$(SEED) E2E_RANDOM_LINES=$(LINES) E2E_RANDOM_FILES=$(FILES) \
	E2E_RANDOM_DAEMONS=$(DAEMONS) $(GO) test ./e2e -run '^TestE2E$$' -count=1 -v -timeout 0

# The classic LVS set-ups with traffic, run with goipvsadm in a guest
# (6.1 unless DEMO_KERNEL says 6.12); fails when a mode does not answer
# the requests as its scheduler should (see e2e/README.md).
DEMO_KERNEL ?= 6.1
demo:
	e2e/fetch.sh $(DEMO_KERNEL)
	e2e/build-payload.sh $(DEMO_PAYLOAD)
	$(GO) run ./e2e/cmd/vmrun -kernel $(DEMO_KERNEL) -script e2e/demo.sh -files $(DEMO_PAYLOAD)

# ---- Installation (see packaging/ and goipvsadm(8)) ----
# make install [PREFIX=/usr/local] [DESTDIR=] [IPVSADM_LINKS=1]
# builds goipvsadm into $(DESTDIR)$(SBINDIR) (or installs GOIPVSADM_BIN, a
# binary built before, e.g. for "sudo make install" without Go), with the
# boot helper, the systemd units, the man page, bash completion and an
# example settings file. IPVSADM_LINKS=1 adds ipvsadm, ipvsadm-save and
# ipvsadm-restore as links to goipvsadm (never over another file).
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/goipvsadm
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
IPVSADM_LINKS ?=
GOIPVSADM_BIN ?=

PKG_UNITS = goipvsadm.service goipvsadm-sync.service
PKG_LINKS = ipvsadm ipvsadm-save ipvsadm-restore
# The installed paths written into the units and the man page.
PKG_SUBST = sed -e 's|@sbindir@|$(SBINDIR)|g' -e 's|@libexecdir@|$(LIBEXECDIR)|g' \
	-e 's|/usr/local/libexec/|$(LIBEXECDIR)/|g' -e 's|/usr/local/share/doc/goipvsadm|$(DOCDIR)|g'

.PHONY: install uninstall check-packaging

install:
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR)/goipvsadm $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	if [ -n "$(GOIPVSADM_BIN)" ]; then \
		install -m 755 "$(GOIPVSADM_BIN)" $(DESTDIR)$(SBINDIR)/goipvsadm; \
	else \
		CGO_ENABLED=0 $(GO) build -trimpath -o $(DESTDIR)$(SBINDIR)/goipvsadm ./cmd/goipvsadm; \
	fi
	install -m 755 packaging/goipvsadm-boot $(DESTDIR)$(LIBEXECDIR)/goipvsadm/goipvsadm-boot
	for u in $(PKG_UNITS); do \
		$(PKG_SUBST) packaging/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done
	$(PKG_SUBST) packaging/goipvsadm.8 >$(DESTDIR)$(MANDIR)/man8/goipvsadm.8
	chmod 644 $(DESTDIR)$(MANDIR)/man8/goipvsadm.8
	install -m 644 packaging/goipvsadm.bash $(DESTDIR)$(BASHCOMPDIR)/goipvsadm
	install -m 644 packaging/goipvsadm.default $(DESTDIR)$(DOCDIR)/goipvsadm.default
	if [ "$(IPVSADM_LINKS)" = 1 ]; then \
		for l in $(PKG_LINKS); do \
			f=$(DESTDIR)$(SBINDIR)/$$l; \
			if [ -e "$$f" ] && [ "$$(readlink "$$f")" != goipvsadm ]; then \
				echo "install: $$f exists and is not a link to goipvsadm; left alone" >&2; exit 1; \
			fi; \
			ln -sfn goipvsadm "$$f" || exit 1; \
		done; \
		ln -sfn goipvsadm $(DESTDIR)$(BASHCOMPDIR)/ipvsadm; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/goipvsadm $(DESTDIR)$(LIBEXECDIR)/goipvsadm/goipvsadm-boot \
		$(DESTDIR)$(MANDIR)/man8/goipvsadm.8 $(DESTDIR)$(BASHCOMPDIR)/goipvsadm \
		$(DESTDIR)$(DOCDIR)/goipvsadm.default
	for u in $(PKG_UNITS); do rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; done
	for f in $(addprefix $(DESTDIR)$(SBINDIR)/,$(PKG_LINKS)) $(DESTDIR)$(BASHCOMPDIR)/ipvsadm; do \
		if [ -L "$$f" ] && [ "$$(readlink "$$f")" = goipvsadm ]; then rm -f "$$f"; fi; \
	done
	-rmdir $(DESTDIR)$(LIBEXECDIR)/goipvsadm $(DESTDIR)$(DOCDIR) 2>/dev/null

# Debian packages built with dpkg-deb into DEB_OUT (see packaging/deb/),
# then checked with lintian, which must find nothing (remaining tags are
# explained in packaging/deb/*/lintian-overrides); DEB_LINT=no skips that.
DEB_OUT ?= build/deb
DEB_LINT ?= yes
.PHONY: deb
deb:
	GO="$(GO)" MAKE="$(MAKE)" DEB_OUT=$(DEB_OUT) DEB_LINT=$(DEB_LINT) packaging/deb/build.sh

# The boot test: Debian 12 with systemd (a root file system from the Debian
# archive, cached in $(E2E_CACHE)/boot), goipvsadm installed from the .deb
# and with make install, booted with the 6.1 kernel; see e2e/README.md.
# Needs root, mmdebstrap, e2fsprogs, dpkg-dev, lintian and QEMU.
E2E_BOOT_IMAGES ?= $(E2E_CACHE)/boot/images
.PHONY: e2e-boot
e2e-boot: deb
	e2e/fetch.sh 6.1
	e2e/boot/rootfs.sh
	GO="$(GO)" MAKE="$(MAKE)" e2e/boot/image.sh $(E2E_BOOT_IMAGES) $(DEB_OUT)/goipvsadm_*.deb $(DEB_OUT)/goipvsadm-ipvsadm_*.deb
	GOIPVSADM_E2E_BOOT=1 E2E_BOOT_IMAGES=$(E2E_BOOT_IMAGES) \
		$(GO) test ./e2e -run '^TestBoot$$' -count=1 -v -timeout 20m

# Lints and renders packaging/, installs into temporary trees, verifies the
# units with systemd-analyze and tests the bash completion and the boot
# helper (needs shellcheck, groff, systemd; see .ci/run).
check-packaging:
	GO="$(GO)" MAKE="$(MAKE)" packaging/check.sh

# goipvsadm against ipvsadm, and our library against moby/ipvs, in a 6.1
# guest; see bench/README.md. BENCH_SMALL=1: small tables, no targets.
BENCH_SMALL ?=
BENCH_ARGS ?=
bench:
	BENCH_SMALL=$(BENCH_SMALL) BENCH_ARGS='$(BENCH_ARGS)' bench/run.sh

# Every Fuzz target of the module, FUZZTIME each, one after the other, with
# FUZZ_PARALLEL workers (keep 1 on a shared machine). A failure leaves its
# input in the package's testdata/fuzz/ and stops the run. Go minimizes
# every new interesting input for up to a minute by default, without
# counting executions meanwhile: with targets whose inputs take
# milliseconds (FuzzRulesPlanApply) that left about 50 executions in a
# minute, so minimizing is bounded by FUZZMINIMIZE. Go 1.26's fuzzing
# coordinator can fail a target with a bare "context deadline exceeded"
# and no failing input when FUZZTIME ends (go.dev/issue/75804, fixed in
# Go 1.27), so the fuzzing runs on FUZZ_GOTOOLCHAIN, which the go command
# fetches through the module proxy; FUZZ_GOTOOLCHAIN=local uses the
# installed Go.
FUZZTIME ?= 20s
FUZZ_PARALLEL ?= 1
FUZZMINIMIZE ?= 3s
FUZZ_GOTOOLCHAIN ?= go1.27.3
fuzz: export GOTOOLCHAIN = $(FUZZ_GOTOOLCHAIN)
fuzz:
	@$(GO) version
	@$(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ { t[n++] = $$1; next } \
		/^ok/ { for (i = 0; i < n; i++) print $$2, t[i]; n = 0 }' >.fuzz-targets.tmp
	@echo "fuzz: $$(wc -l <.fuzz-targets.tmp) targets, $(FUZZTIME) each"
	@set -e; while read -r pkg target; do \
		echo "==== $$pkg $$target"; \
		$(GO) test "$$pkg" -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) \
			-fuzzminimizetime $(FUZZMINIMIZE) -parallel $(FUZZ_PARALLEL); \
	done <.fuzz-targets.tmp; rm -f .fuzz-targets.tmp

# Go benchmarks of parsing, encoding, decoding and formatting (host only).
BENCH_GO_PKGS ?= ./restore/ ./internal/cmdline/ ./ipvs/ ./internal/listing/ ./save/ ./cmd/goipvsadm/
BENCH_GO_TIME ?= 1s
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_GO_TIME) $(BENCH_GO_PKGS)
