#!/usr/bin/env bash
# Checks the units in this folder the way an installer would: `systemd-analyze verify` must
# print nothing, `systemd-analyze security --offline` must rate every service at 2.0 or lower,
# every service must cap its memory and tasks, and the users and directories that
# sluice.sysusers.conf and sluice.tmpfiles.conf make must keep the intake service away from the
# signing keys. The units are verified inside a scratch root holding the system's own unit library and
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

# Resource caps on every service.
for unit in "$here"/*.service; do
  name=$(basename "$unit")
  for setting in MemoryMax TasksMax; do
    if grep -q "^$setting=" "$unit"; then echo "ok   $setting $name"
    else echo "FAIL $setting $name: not set"; failed=1; fi
  done
done

# Least privilege: make the users and directories in the scratch root as an installer would,
# then check who can reach the keys.
command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null || {
  echo "systemd-sysusers or systemd-tmpfiles not found: install Debian's systemd package" >&2
  exit 1; }
mkdir -p "$root/etc"
touch "$root/etc/passwd" "$root/etc/group" "$root/etc/shadow" "$root/etc/gshadow"
systemd-sysusers --root="$root" "$here/sluice.sysusers.conf"
systemd-tmpfiles --root="$root" --create "$here/sluice.tmpfiles.conf"
user_of() { awk -F: -v id="$1" '$3 == id { print $1 }' "$root/etc/passwd"; }
group_of() { awk -F: -v id="$1" '$3 == id { print $1 }' "$root/etc/group"; }
members_of() { awk -F: -v g="$1" '$1 == g { print $4 }' "$root/etc/group"; }
primary_group_of() { group_of "$(awk -F: -v u="$1" '$1 == u { print $4 }' "$root/etc/passwd")"; }
unit_setting() { sed -n "s/^$2=//p" "$here/$1" | tail -n 1; }
check() { # description, then a test that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failed=1; fi
}
keys="$root/etc/sluice/keys"
keys_owner=$(user_of "$(stat -c %u "$keys")")
keys_group=$(group_of "$(stat -c %g "$keys")")
keys_mode=$(stat -c %a "$keys")
intake=$(unit_setting sluice-outer.service User)
intake_group=$(unit_setting sluice-outer.service Group)
check "the keys directory belongs to the transfer user ($keys_owner:$keys_group $keys_mode)" \
  test "$keys_owner" = sluice -a "$keys_mode" = 700
check "the intake service runs as its own user ($intake:$intake_group)" \
  test -n "$intake" -a "$intake" != "$keys_owner" -a "$intake_group" != "$keys_group"
check "the intake user is not in the keys' group" \
  test "$(primary_group_of "$intake")" != "$keys_group" -a \
       -z "$(members_of "$keys_group" | tr ',' '\n' | grep -x "$intake")"
check "the key directory is hidden from the intake service" \
  grep -q '^InaccessiblePaths=.*/etc/sluice/keys' "$here/sluice-outer.service"
db="$root/var/lib/sluice-outer"
check "the outer database directory is shared through its group, setgid ($(stat -c %a "$db"))" \
  test "$(group_of "$(stat -c %g "$db")")" = "$intake_group" -a "$(stat -c %a "$db")" = 2770
for name in sluice-export.service sluice-apply.service; do
  check "$name shares the database through its group and writes group-readable files" \
    test "$(unit_setting "$name" Group)" = "$intake_group" -a "$(unit_setting "$name" UMask)" = 0007
done
exit $failed
