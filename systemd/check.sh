#!/usr/bin/env bash
# Checks the units in this folder the way an installer would: `systemd-analyze verify` must
# print nothing, and `systemd-analyze security --offline` must rate every service at 2.0 or
# lower. The units are verified inside a scratch root holding the system's own unit library and
# stand-in executables, so the check needs neither an installed Sluice nor a running systemd.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
max_exposure=${SLUICE_MAX_EXPOSURE:-2.0}

command -v systemd-analyze >/dev/null || {
  echo "systemd-analyze not found: install Debian's systemd package" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
for bin in sluice-outer sluice-transfer sluice-inner sluice-keys; do
  printf '#!/bin/sh\nexit 0\n' > "$root/usr/bin/$bin"
  chmod 755 "$root/usr/bin/$bin"
done
cp "$here"/*.service "$here"/*.timer "$here"/*.path "$root/etc/systemd/system/"

failed=0
for unit in "$here"/*.service "$here"/*.timer "$here"/*.path; do
  name=$(basename "$unit")
  out=$(systemd-analyze verify --root="$root" "/etc/systemd/system/$name" 2>&1) || {
    echo "FAIL verify $name: $out"; failed=1; continue; }
  if [ -n "$out" ]; then echo "FAIL verify $name: $out"; failed=1; continue; fi
  echo "ok   verify $name"
done
for unit in "$here"/*.service; do
  name=$(basename "$unit")
  level=$(systemd-analyze security --offline=true --root="$root" "/etc/systemd/system/$name" 2>&1 \
    | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if [ -z "$level" ]; then echo "FAIL security $name: no rating"; failed=1; continue; fi
  if awk -v l="$level" -v m="$max_exposure" 'BEGIN { exit !(l > m) }'; then
    echo "FAIL security $name: exposure $level, above $max_exposure"; failed=1
  else
    echo "ok   security $name: exposure $level"
  fi
done
exit $failed
