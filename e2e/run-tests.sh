#!/bin/sh
# Runs the Go test binaries listed in /e2e/tests.list, one line per package:
#   <import path> <directory under /e2e/src> <test binary name>
# Each runs in its package directory, as "go test" does. The host parses the
# E2E-PKG-* markers (see vm.go) to report each package.

list=/e2e/tests.list
if [ ! -s "$list" ]; then
	echo "E2E: no test packages in the payload"
	exit 1
fi

failed=0
while read -r pkg dir bin; do
	[ -n "$pkg" ] || continue
	echo "E2E-PKG-START $pkg"
	set -- -test.v
	[ -n "$E2E_RUN" ] && set -- "$@" "-test.run=$E2E_RUN"
	[ -n "$E2E_TIMEOUT" ] && set -- "$@" "-test.timeout=$E2E_TIMEOUT"
	start=$(date +%s)
	(cd "/e2e/src/$dir" && "./$bin" "$@" </dev/null)
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		echo "E2E-PKG-RESULT $pkg PASS rc=0 secs=$secs"
	else
		echo "E2E-PKG-RESULT $pkg FAIL rc=$rc secs=$secs"
		failed=$((failed + 1))
	fi
	# Each package starts from an empty IPVS table whatever the last left.
	/usr/sbin/ipvsadm -C 2>/dev/null
done <"$list"
exit "$failed"
