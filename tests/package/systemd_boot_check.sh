#!/usr/bin/env bash
# The Debian package under a real systemd: installs the .deb into a Debian root with systemd
# (debootstrap --include=systemd,systemd-sysv,dbus,procps bookworm ROOT), boots that root with
# systemd-nspawn, starts the units there, and checks what an operator would: every unit active with
# its sd_notify status, `ring status` all well, a reload that stops nothing, a SIGKILLed node
# restarted by systemd and back in the ring, journald's lines without a second time stamp, the
# state directory. Needs root, systemd-nspawn (systemd-container) and network for apt; minutes, so
# run by hand, not in CI (ctest's `package` checks the units with systemd-analyze verify and runs
# the programs as the units would).
#
#   systemd_boot_check.sh ROOT DEB
set -euo pipefail
root=${1:?usage: systemd_boot_check.sh ROOT DEB}
deb=${2:?usage: systemd_boot_check.sh ROOT DEB}
for tool in systemd-nspawn chroot; do
  command -v "$tool" > /dev/null || { echo "systemd_boot_check: '$tool' not found (apt-get install systemd-container)" >&2; exit 1; }
done
cp "$deb" "$root/root/ringwatch.deb"
cp /etc/resolv.conf "$root/etc/resolv.conf"
for d in proc sys dev; do mount --bind "/$d" "$root/$d"; done
trap 'for d in dev sys proc; do umount "$root/$d" 2> /dev/null || true; done' EXIT
chroot "$root" /bin/sh -c 'apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /root/ringwatch.deb > /root/install.log 2>&1' \
  || { cat "$root/root/install.log"; exit 1; }
for d in dev sys proc; do umount "$root/$d"; done
trap - EXIT

cat > "$root/root/selftest.sh" <<'SELFTEST'
#!/bin/sh
exec > /root/selftest.txt 2>&1
units="ringwatch-node@0 ringwatch-node@1 ringwatch-node@2 ringwatch-monitor"
systemctl start $units
for i in $(seq 50); do ring status /etc/ringwatch/ring.toml > /dev/null 2>&1 && break; sleep 0.2; done
echo "active: $(systemctl is-active $units | tr '\n' ' ')"
echo "status of node 1: $(systemctl show -p StatusText --value ringwatch-node@1)"
echo "status of monitor: $(systemctl show -p StatusText --value ringwatch-monitor)"
ring status /etc/ringwatch/ring.toml; echo "ring status exit $?"
before=$(systemctl show -p MainPID --value ringwatch-node@1)
systemctl reload ringwatch-node@1
for i in $(seq 50); do journalctl -b --no-pager -u ringwatch-node@1 -o cat | grep -q 'SIGHUP: carrying on' && break; sleep 0.2; done
after=$(systemctl show -p MainPID --value ringwatch-node@1)
echo "after reload: $(systemctl is-active ringwatch-node@1) same-process=$([ "$before" = "$after" ] && echo yes || echo no)"
echo "reload said: $(journalctl -b --no-pager -u ringwatch-node@1 -o cat | grep -c 'SIGHUP: carrying on')"
kill -9 "$(systemctl show -p MainPID --value ringwatch-node@2)"
for i in $(seq 50); do [ "$(systemctl show -p NRestarts --value ringwatch-node@2)" = 1 ] && ring status /etc/ringwatch/ring.toml > /dev/null 2>&1 && break; sleep 0.2; done
echo "node 2 after SIGKILL: $(systemctl is-active ringwatch-node@2) restarts=$(systemctl show -p NRestarts --value ringwatch-node@2)"
ring status /etc/ringwatch/ring.toml; echo "ring status exit $?"
echo "journal: $(journalctl -b --no-pager -u ringwatch-node@2 -o cat | grep -c '^\[node 2\] ') plain lines, $(journalctl -b --no-pager -u ringwatch-node@2 -o cat | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T') stamped"
journalctl -b --no-pager -u ringwatch-monitor -o cat | tail -6
echo "state: $(ls /var/lib/ringwatch | tr '\n' ' ')"
systemd-analyze security ringwatch-node@0.service | tail -1
systemctl stop $units
echo SELFTEST DONE
systemctl poweroff
SELFTEST
chmod +x "$root/root/selftest.sh"
printf '[Unit]\nDescription=ringwatch package self-test\nAfter=multi-user.target\n[Service]\nType=oneshot\nExecStart=/root/selftest.sh\n[Install]\nWantedBy=multi-user.target\n' \
  > "$root/etc/systemd/system/ringwatch-selftest.service"
ln -sf /etc/systemd/system/ringwatch-selftest.service "$root/etc/systemd/system/multi-user.target.wants/ringwatch-selftest.service"
rm -f "$root/root/selftest.txt"
timeout 180 systemd-nspawn -q --register=no --keep-unit -D "$root" --boot > "$root/root/boot.log" 2>&1 || true
rm -f "$root/etc/systemd/system/multi-user.target.wants/ringwatch-selftest.service"
out="$root/root/selftest.txt"
cat "$out"
fail=0
check() { grep -qE "$1" "$out" || { echo "systemd_boot_check: missing: $2" >&2; fail=1; }; }
check '^active: active active active active $' "every unit active"
check "^status of node 1: node 1 of ring '.*' at 127\.0\.0\.1:" "node 1's sd_notify status"
check "^status of monitor: monitor of ring" "the monitor's sd_notify status"
check '^after reload: active same-process=yes$' "a reload that stops nothing"
check '^reload said: 1$' "the node saying it carries on after SIGHUP"
check '^node 2 after SIGKILL: active restarts=1$' "node 2 restarted by systemd"
check '^ring status exit 0$' "ring status all well"
check '^journal: [1-9][0-9]* plain lines, 0 stamped$' "journald lines without our time stamp"
check 'NODE REJOINED 2' "node 2 back in the ring"
check '^state: node-0 node-1 node-2 $' "the state directories"
check '^SELFTEST DONE$' "the self-test's end"
exit $fail
