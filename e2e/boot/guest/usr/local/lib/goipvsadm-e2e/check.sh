#!/bin/bash
# check.sh PHASE: the boot test's checks on the booted guest (see
# e2e/README.md, "Boot test"), run by goipvsadm-e2e@PHASE.service. Each
# check prints one line on the console, "BOOT-CHECK PASS <name>" or
# "BOOT-CHECK FAIL <name>: <why>"; the host test (e2e/boot_test.go) requires
# every check it knows of to pass. Then "E2E-DONE rc=<failures>" and a
# power-off, which stops goipvsadm.service as any shutdown does.
#
# Phases: boot1 and boot2 are two boots of the disk with the .deb
# installed, install one boot of the disk with "make install". The table is
# always read with the reference ipvsadm (Debian's 1.31).
set -u
export LC_ALL=C

PHASE=$1
HERE=/usr/local/lib/goipvsadm-e2e
STATE=/var/lib/goipvsadm-e2e
RULES=/etc/ipvsadm.rules
REF=/usr/sbin/ipvsadm
BOOT=$(dirname "$(systemctl show -P ExecStart goipvsadm.service | sed -n 's/.*path=\([^ ;]*\).*/\1/p')")
FAILS=0

# ---- helpers ----

# check NAME FUNCTION [ARGS]: runs a check; its output is the reason for a
# failure. After a failure the settings and the unit are put back as they
# were, so that the next checks start from a known state.
check() {
	local name=$1 out
	shift
	echo "BOOT-RUN $name"
	if out=$("$@" 2>&1); then
		echo "BOOT-CHECK PASS $name"
	else
		echo "BOOT-CHECK FAIL $name: $(tr '\n' '|' <<<"$out")"
		FAILS=$((FAILS + 1))
		settle >/dev/null 2>&1
	fi
}

# keep_settings: copies of the settings and the rules as they are now, for
# settle.
keep_settings() {
	mkdir -p $STATE/kept
	cp /etc/default/ipvsadm /etc/sysconfig/ipvsadm-config "$RULES" $STATE/kept/
}

settle() {
	cp $STATE/kept/ipvsadm /etc/default/ipvsadm
	cp $STATE/kept/ipvsadm-config /etc/sysconfig/ipvsadm-config
	rm -f /etc/default/goipvsadm
	cp "$STATE/kept/$(basename "$RULES")" "$RULES"
	if systemctl is-active -q goipvsadm.service; then
		systemctl reload goipvsadm.service
	else
		systemctl reset-failed goipvsadm.service
		systemctl start goipvsadm.service
	fi
	systemctl start goipvsadm-sync.service
}

# table: the whole table as the reference sees it: its save and the
# thresholds (which -S does not show), without the connection counts.
table() {
	$REF -Sn && $REF -Ln --thresholds | awk '$1 == "->" && NF == 6 {$5 = $6 = ""} {print}'
}

# ref_table FILE: the table that ipvsadm's own -R makes of FILE.
ref_table() {
	$REF -C && grep -v '^#' "$1" | $REF -R && table
}

# same WHAT A B: fails with a diff unless the texts A and B are equal.
same() {
	[ "$2" = "$3" ] && return 0
	echo "$1 differs:"
	diff <(echo "$2") <(echo "$3")
	return 1
}

mono() { systemctl show -P "$2" "$1"; }

# before UNIT_A PROP_A UNIT_B PROP_B: A's timestamp is set and not after B's.
before() {
	local a b
	a=$(mono "$1" "$2") b=$(mono "$3" "$4")
	[ "${a:-0}" -gt 0 ] && [ "${b:-0}" -gt 0 ] && [ "$a" -le "$b" ] && return 0
	echo "$1 $2=$a is not before $3 $4=$b"
	return 1
}

# settings FILE LINES...: writes a settings file (empty LINES: removes it).
settings() {
	local f=$1
	shift
	if [ $# -eq 0 ]; then
		rm -f "$f"
	else
		printf '%s\n' "$@" >"$f"
	fi
}

# journal_since CURSOR_FILE: goipvsadm.service's journal after the cursor.
journal_since() {
	journalctl -q -o cat -u goipvsadm.service --after-cursor="$(cat "$1")"
}
mark_journal() {
	journalctl -q -n 0 --show-cursor | sed -n 's/^-- cursor: //p' >"$1"
}

# traffic: three TCP connection attempts to 10.0.0.100:80 through IPVS (the
# real servers are on the dummy network: the SYNs go nowhere, but the
# service counts three connections). The kernel adds the counts up
# every two seconds: wait until all three show (a minute at most).
traffic() {
	local pids=() end=$((SECONDS + 60))
	while [ ${#pids[@]} -lt 3 ]; do
		bash -c 'exec 3<>/dev/tcp/10.0.0.100/80' 2>/dev/null &
		pids+=($!)
	done
	while [ "$(conns 10.0.0.100:80)" -lt 3 ] && [ $SECONDS -lt $end ]; do
		sleep 0.5
	done
	kill "${pids[@]}" 2>/dev/null
	wait
	return 0
}

# conns SERVICE: the Conns column of the TCP service's line in -Ln --stats.
conns() {
	$REF -Ln --stats -t "$1" | awk -v svc="$1" '$1 == "TCP" && $2 == svc {print $3; exit}'
}

# ---- phase boot1 ----

unit_active() {
	local u
	for u in goipvsadm.service goipvsadm-sync.service; do
		[ "$(systemctl is-active "$u")" = active ] || {
			systemctl status --no-pager "$u"
			return 1
		}
	done
}

# restored_at_boot: the table at boot is what ipvsadm -R makes of the file.
restored_at_boot() {
	local boot
	boot=$(table)
	grep -q -- '-A -t 10.0.0.100:80' <<<"$boot" || {
		echo "table not restored: $boot"
		return 1
	}
	same "table at boot vs ipvsadm -R of the rules" "$(ref_table "$RULES")" "$boot"
}

restored_before_network_pre() {
	before goipvsadm.service ActiveEnterTimestampMonotonic network-pre.target ActiveEnterTimestampMonotonic &&
		before network-pre.target ActiveEnterTimestampMonotonic systemd-networkd.service ExecMainStartTimestampMonotonic
}

sync_daemon_after_network() {
	$REF -L --daemon | grep -q '^master sync daemon (mcast=e2e0, syncid=7, ' || {
		$REF -L --daemon
		return 1
	}
	before systemd-networkd-wait-online.service ActiveEnterTimestampMonotonic network-online.target ActiveEnterTimestampMonotonic &&
		before network-online.target ActiveEnterTimestampMonotonic goipvsadm-sync.service ExecMainStartTimestampMonotonic
}

# reload_in_place: after an edit, systemctl reload makes the table equal
# to the file, and 10.0.0.100:80, which stays, keeps its counters.
reload_in_place() {
	local before after got
	traffic
	before=$(conns 10.0.0.100:80)
	[ "${before:-0}" -eq 3 ] || {
		echo "no connections counted: $($REF -Ln --stats)"
		return 1
	}
	cp "$HERE/edited.rules" "$RULES"
	keep_settings
	systemctl reload goipvsadm.service || return 1
	after=$(conns 10.0.0.100:80)
	[ "$after" = "$before" ] || {
		echo "10.0.0.100:80 counted $before connections before the reload, $after after"
		return 1
	}
	got=$(table)
	same "table after reload vs ipvsadm -R of the edited rules" "$(ref_table "$RULES")" "$got" || return 1
	# Back to what the unit made (ref_table rebuilt it).
	systemctl reload goipvsadm.service
}

# bad_line: a rules file whose line 5 is wrong: reload and restart fail,
# the table stays as it was, the journal names the line and the error.
bad_line() {
	local good was cur=/tmp/cursor
	good=$(cat "$RULES")
	was=$(table)
	sed '4a -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w -1' "$HERE/edited.rules" >"$RULES"
	mark_journal $cur
	if systemctl reload goipvsadm.service; then
		echo "reload with a bad line succeeded"
		return 1
	fi
	same "table after the failed reload" "$was" "$(table)" || return 1
	[ "$(systemctl is-active goipvsadm.service)" = active ] || return 1
	# A restart that fails leaves the unit failed (no save on this stop,
	# which would overwrite the bad file).
	settings /etc/default/goipvsadm SAVE_ON_STOP=no
	if systemctl restart goipvsadm.service; then
		echo "restart with a bad line succeeded"
		return 1
	fi
	systemctl is-failed -q goipvsadm.service || return 1
	same "table after the failed restart" "$was" "$(table)" || return 1
	# ipvsadm's message, then the line.
	local log
	log=$(journal_since $cur)
	if ! grep -qx 'illegal weight specified' <<<"$log" ||
		! grep -q '^line 5: -a -t 10.0.0.100:80 -r 10.0.0.13:80 -g -w -1 ' <<<"$log"; then
		echo "$log"
		return 1
	fi
	printf '%s\n' "$good" >"$RULES"
	settings /etc/default/goipvsadm
	systemctl restart goipvsadm.service
}

# debian_auto: AUTO="false" in /etc/default/ipvsadm: start leaves the
# table alone; AUTO="true": start restores it.
debian_auto() {
	local want cur=/tmp/cursor
	want=$(table)
	settings /etc/default/goipvsadm SAVE_ON_STOP=no
	sed -i 's/^AUTO=.*/AUTO="false"/' /etc/default/ipvsadm
	$REF -C
	mark_journal $cur
	systemctl restart goipvsadm.service || return 1
	[ -z "$($REF -Sn)" ] || {
		echo "AUTO=false restored: $($REF -Sn)"
		return 1
	}
	journal_since $cur | grep -q 'RESTORE=no' || return 1
	sed -i 's/^AUTO=.*/AUTO="true"/' /etc/default/ipvsadm
	systemctl restart goipvsadm.service || return 1
	settings /etc/default/goipvsadm
	same "table with AUTO=true" "$want" "$(table)"
}

# rhel_status_numeric: IPVS_STATUS_NUMERIC decides whether goipvsadm-boot
# status resolves names (10.0.0.100 is vip.e2e in /etc/hosts).
rhel_status_numeric() {
	"$BOOT/goipvsadm-boot" status | grep -q '10.0.0.100:80' || return 1
	sed -i 's/^IPVS_STATUS_NUMERIC=.*/IPVS_STATUS_NUMERIC="no"/' /etc/sysconfig/ipvsadm-config
	"$BOOT/goipvsadm-boot" status | grep -q 'vip.e2e:' || {
		"$BOOT/goipvsadm-boot" status
		return 1
	}
	sed -i 's/^IPVS_STATUS_NUMERIC=.*/IPVS_STATUS_NUMERIC="yes"/' /etc/sysconfig/ipvsadm-config
}

# rhel_save_on_restart: IPVS_SAVE_ON_STOP=no keeps the file on a stop;
# IPVS_SAVE_ON_RESTART=yes saves on goipvsadm-boot restart.
rhel_save_on_restart() {
	local good
	good=$(cat "$RULES")
	sed -i 's/^IPVS_SAVE_ON_STOP=.*/IPVS_SAVE_ON_STOP="no"/' /etc/sysconfig/ipvsadm-config
	$REF -A -t 10.0.0.200:80 -s rr
	systemctl stop goipvsadm.service
	same "rules after a stop with IPVS_SAVE_ON_STOP=no" "$good" "$(cat "$RULES")" || return 1
	# The stop kept the table (no FLUSH_ON_STOP): a restart by hand saves it.
	sed -i 's/^IPVS_SAVE_ON_RESTART=.*/IPVS_SAVE_ON_RESTART="yes"/' /etc/sysconfig/ipvsadm-config
	"$BOOT/goipvsadm-boot" restart || return 1
	grep -q -- '-A -t 10.0.0.200:80' "$RULES" || {
		echo "restart did not save: $(cat "$RULES")"
		return 1
	}
	sed -i -e 's/^IPVS_SAVE_ON_RESTART=.*/IPVS_SAVE_ON_RESTART="no"/' \
		-e 's/^IPVS_SAVE_ON_STOP=.*/IPVS_SAVE_ON_STOP="yes"/' /etc/sysconfig/ipvsadm-config
	printf '%s\n' "$good" >"$RULES"
	systemctl start goipvsadm.service
}

# rhel_modules_unload: with FLUSH_ON_STOP=yes, IPVS_MODULES_UNLOAD=yes
# unloads ip_vs on stop; a start brings the table and the daemon back.
rhel_modules_unload() {
	local want
	want=$(table)
	settings /etc/default/goipvsadm FLUSH_ON_STOP=yes SAVE_ON_STOP=no
	sed -i 's/^IPVS_MODULES_UNLOAD=.*/IPVS_MODULES_UNLOAD="yes"/' /etc/sysconfig/ipvsadm-config
	systemctl stop goipvsadm-sync.service goipvsadm.service || return 1
	if grep -q '^ip_vs ' /proc/modules; then
		echo "ip_vs still loaded: $(grep ip_vs /proc/modules)"
		return 1
	fi
	sed -i 's/^IPVS_MODULES_UNLOAD=.*/IPVS_MODULES_UNLOAD="no"/' /etc/sysconfig/ipvsadm-config
	settings /etc/default/goipvsadm
	systemctl start goipvsadm.service goipvsadm-sync.service || return 1
	same "table after the unload and a start" "$want" "$(table)" || return 1
	$REF -L --daemon | grep -q '^master sync daemon'
}

# stop_saves_lossless: systemctl stop saves (IPVS_SAVE_ON_STOP=yes), and
# the start restores exactly that table: thresholds, the high mark.
stop_saves_lossless() {
	local want
	want=$(table)
	systemctl stop goipvsadm.service || return 1
	grep -v '^#' "$RULES" | grep -Eq -- ' -x [1-9][0-9]* -y [1-9]' || {
		echo "thresholds not saved: $(cat "$RULES")"
		return 1
	}
	$REF -C
	systemctl start goipvsadm.service || {
		journalctl -q -o cat -u goipvsadm.service -n 5
		return 1
	}
	same "table after stop, flush and start" "$want" "$(table)"
}

# record_for_reboot: what boot2 must find; the power-off saves it.
record_for_reboot() {
	mkdir -p $STATE && table >$STATE/expected
}

blame() {
	echo "BOOT-INFO blame $(systemd-analyze blame | grep -m1 ' goipvsadm.service$' | sed 's/^ *//')"
	echo "BOOT-INFO startup $(systemd-analyze | head -n 1)"
}

phase_boot1() {
	blame
	keep_settings
	check unit-active unit_active
	check restored-at-boot restored_at_boot
	check restored-before-network-pre restored_before_network_pre
	check sync-daemon-after-network sync_daemon_after_network
	check reload-in-place reload_in_place
	check bad-line bad_line
	check debian-auto debian_auto
	check rhel-status-numeric rhel_status_numeric
	check rhel-save-on-restart rhel_save_on_restart
	check rhel-modules-unload rhel_modules_unload
	check stop-saves-lossless stop_saves_lossless
	check recorded-for-reboot record_for_reboot
}

# ---- phase boot2 ----

# reboot_keeps_table: the table after the reboot is the one boot1 had when
# it powered off (and that one has thresholds and the mark 3000000000).
reboot_keeps_table() {
	local want
	want=$(cat $STATE/expected) || return 1
	grep -Eq -- '-f (3000000000|-1294967296) ' <<<"$want" || {
		echo "no mark >= 2^31 in $want"
		return 1
	}
	grep -Eq -- '^-> [^ ]+ [1-9][0-9]* [1-9][0-9]* ' <<<"$want" || {
		echo "no thresholds in $want"
		return 1
	}
	same "table after the reboot" "$want" "$(table)"
}

# ipvsadm_files_intact: our packages changed no file of Debian's ipvsadm,
# whose commands stay while it is installed. (Its conffiles are the test's
# settings, changed on purpose.)
ipvsadm_files_intact() {
	local out rc=0
	out=$(dpkg --verify ipvsadm 2>&1) || rc=$?
	out=$(grep -v '^..5...... c /etc/' <<<"$out")
	if [ $rc -gt 1 ] || [ -n "$out" ]; then
		echo "dpkg --verify ipvsadm: $out"
		return 1
	fi
	update-alternatives --query ipvsadm | grep -qx 'Value: /usr/sbin/goipvsadm' || return 1
	[ "$(readlink -f /usr/sbin/ipvsadm)" = /usr/sbin/ipvsadm ]
}

# alternative_after_removal: without Debian's ipvsadm, the alternative
# makes goipvsadm ipvsadm and ipvsadm-save.
alternative_after_removal() {
	dpkg -r ipvsadm >/dev/null || return 1
	update-alternatives --auto ipvsadm || return 1
	[ "$(readlink -f /usr/sbin/ipvsadm)" = /usr/sbin/goipvsadm ] || return 1
	same "ipvsadm-save -n vs goipvsadm -Sn" "$(goipvsadm -Sn)" "$(ipvsadm-save -n)"
}

phase_boot2() {
	blame
	check unit-active unit_active
	check reboot-keeps-table reboot_keeps_table
	check ipvsadm-files-intact ipvsadm_files_intact
	check alternative-after-removal alternative_after_removal
}

# ---- phase install ----

# installed_by_make: the enabled units are make install's, under /usr/local.
installed_by_make() {
	systemctl show -P FragmentPath goipvsadm.service | grep -qx /usr/local/lib/systemd/system/goipvsadm.service &&
		systemctl show -P ExecStart goipvsadm.service | grep -q 'path=/usr/local/libexec/goipvsadm/goipvsadm-boot '
}

phase_install() {
	blame
	check installed-by-make installed_by_make
	check unit-active unit_active
	check restored-at-boot restored_at_boot
	check restored-before-network-pre restored_before_network_pre
}

echo "BOOT-PHASE $PHASE"
# The checks start once the boot is finished (systemd-analyze needs it).
systemctl is-system-running --wait >/dev/null
"phase_$PHASE"
echo "E2E-DONE rc=$FAILS"
systemctl poweroff
