#!/bin/sh
# The sync daemon stop reproducer (e2e/README.md, "Sync daemons"): starts
# and stops a sync daemon in rounds through goipvsadm's library and through
# ipvsadm, with no wait and with a wait between start and stop, and counts
# the stops never answered. Run it with
#   CGO_ENABLED=0 go build -o DIR/usr/local/bin/daemonloop ./e2e/cmd/daemonloop
#   go run ./e2e/cmd/vmrun -kernel 6.1 -script e2e/daemon-stop.sh -files DIR
set -u
L=/usr/local/bin/daemonloop
N=${ROUNDS:-300}
ipvsadm -Ln >/dev/null
status=0
$L -tool lib -n "$N" -gap 0 || status=1
$L -tool lib -n "$N" -gap 1ms || status=1
$L -tool ipvsadm -n "$N" -gap 0 || status=1
$L -tool lib -n $((N / 3)) -gap 300ms || status=1
exit $status
