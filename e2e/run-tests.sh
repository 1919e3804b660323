#!/bin/sh
# Runs the Go test binaries listed in /e2e/tests.list, one line per package:
#   <import path> <directory under /e2e/src> <test binary name>
# Each runs in its package directory, as "go test" does. The host parses the
# E2E-* markers (see vm.go) to report each package.
#
# With E2E_UPDATE=1 each binary that defines -update gets it, and the
# package's testdata/ is sent back on the console (tar, gzip, base64) so the
# host can write the regenerated golden files into the repository.

list=/e2e/tests.list
if [ ! -s "$list" ]; then
	echo "E2E: no test packages in the payload"
	exit 1
fi

failed=0
while read -r pkg dir bin; do
	[ -n "$pkg" ] || continue
	echo "E2E-PKG-START $pkg"
	cd "/e2e/src/$dir" || exit 1
	set -- -test.v
	[ -n "$E2E_RUN" ] && set -- "$@" "-test.run=$E2E_RUN"
	[ -n "$E2E_TIMEOUT" ] && set -- "$@" "-test.timeout=$E2E_TIMEOUT"
	if [ "$E2E_UPDATE" = 1 ]; then
		if "./$bin" -h 2>&1 | grep -q '^  -update'; then
			set -- "$@" -update
		else
			echo "E2E: $pkg has no -update flag"
		fi
	fi
	start=$(date +%s)
	"./$bin" "$@" </dev/null
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		echo "E2E-PKG-RESULT $pkg PASS rc=0 secs=$secs"
	else
		echo "E2E-PKG-RESULT $pkg FAIL rc=$rc secs=$secs"
		failed=$((failed + 1))
	fi
	if [ "$E2E_UPDATE" = 1 ] && [ -d testdata ]; then
		echo "E2E-TESTDATA-BEGIN $dir"
		tar -c testdata | gzip | base64
		echo "E2E-TESTDATA-END $dir"
	fi
	cd /
	# Each package starts from an empty IPVS table whatever the last left.
	/usr/sbin/ipvsadm -C 2>/dev/null
done <"$list"
exit "$failed"
