#!/usr/bin/env bash
# Builds the Debian packages sluice-outer (intake service, export, apply) and sluice-inner
# (import, return, review) from release binaries with dpkg-deb, into target/debian/, and checks
# each with lintian (errors fail). With --install, also installs each package on this machine
# with dpkg, runs `systemd-analyze verify` on the units it installed, and purges it again (the
# two packages ship the same transfer tool, so they are installed one after the other).
#
# Each package holds: the binaries (stripped), the systemd units, the system users
# (sysusers.d) and directories with their modes (tmpfiles.d), a default configuration under
# /etc/sluice (conffiles), the README, the copyright file and a changelog.
set -euo pipefail
cd "$(dirname "$0")/.."

install=no
[ "${1:-}" = "--install" ] && install=yes

for tool in dpkg-deb dpkg-shlibdeps lintian strip; do
  command -v "$tool" >/dev/null || {
    echo "$tool not found: install Debian's dpkg-dev, lintian and binutils packages" >&2; exit 1; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' transfer/Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "no version in transfer/Cargo.toml" >&2; exit 1; }
debian_version="$version-1"
arch=$(dpkg --print-architecture)
out=target/debian
rm -rf "$out"
mkdir -p "$out"

cargo build --release --locked -p keys -p outer -p inner -p transfer --bins

# build_package NAME SUMMARY DESCRIPTION BINARIES UNITS CONFIGS (CONFIGS as source:target pairs)
build_package() {
  local name=$1 summary=$2 description=$3 binaries=$4 units=$5 configs=$6
  local root="$out/$name"
  mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
    "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d" "$root/usr/share/doc/$name" \
    "$root/etc/sluice"
  for bin in $binaries; do
    install -m 0755 "target/release/$bin" "$root/usr/bin/$bin"
    strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/$bin"
  done
  for unit in $units; do
    install -m 0644 "systemd/$unit" "$root/lib/systemd/system/$unit"
  done
  install -m 0644 systemd/sluice.sysusers.conf "$root/usr/lib/sysusers.d/sluice.conf"
  install -m 0644 systemd/sluice.tmpfiles.conf "$root/usr/lib/tmpfiles.d/sluice.conf"
  : > "$root/DEBIAN/conffiles"
  for pair in $configs; do
    install -m 0644 "${pair%%:*}" "$root/etc/sluice/${pair##*:}"
    echo "/etc/sluice/${pair##*:}" >> "$root/DEBIAN/conffiles"
  done
  install -m 0644 README.md "$root/usr/share/doc/$name/README.md"
  gzip -9n "$root/usr/share/doc/$name/README.md"
  cat > "$root/usr/share/doc/$name/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: sluice
Source: https://sluice.invalid/

Files: *
Copyright: 2026 The Sluice developers
License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
EOF
  chmod 0644 "$root/usr/share/doc/$name/copyright"
  {
    echo "$name ($debian_version) unstable; urgency=medium"
    echo
    echo "  * Built from the Sluice workspace at version $version; see CHANGELOG.md in the"
    echo "    source for what changed."
    echo
    echo " -- The Sluice developers <maintainers@sluice.invalid>  $(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
  } | gzip -9n > "$root/usr/share/doc/$name/changelog.Debian.gz"
  chmod 0644 "$root/usr/share/doc/$name/changelog.Debian.gz"

  # Shared-library dependencies, computed as Debian's own tools do.
  local scratch depends
  scratch=$(mktemp -d)
  mkdir -p "$scratch/debian"
  printf 'Source: sluice\n\nPackage: %s\nArchitecture: any\n' "$name" > "$scratch/debian/control"
  local paths=()
  for bin in $binaries; do paths+=("$PWD/$root/usr/bin/$bin"); done
  depends=$(cd "$scratch" && dpkg-shlibdeps -O "${paths[@]}" | sed -n 's/^shlibs:Depends=//p')
  rm -rf "$scratch"
  [ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies for $name" >&2; exit 1; }

  local other=sluice-inner
  [ "$name" = sluice-inner ] && other=sluice-outer
  cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $debian_version
Architecture: $arch
Maintainer: The Sluice developers <maintainers@sluice.invalid>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: $depends, systemd (>= 247)
Conflicts: $other
Section: admin
Priority: optional
Homepage: https://sluice.invalid/
Description: $summary
$(echo "$description" | fold -s -w 72 | sed 's/^/ /; s/ *$//')
EOF
  cat > "$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Creates the system users and the directories with their modes, and tells systemd about the
# units. Nothing is enabled or started: keys and configuration come first (README, Deploying).
set -e
if [ "$1" = configure ]; then
  systemd-sysusers sluice.conf
  systemd-tmpfiles --create sluice.conf
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi
EOF
  cat > "$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# The system users, the spool, the outer database and the keys stay: they hold filings and
# secrets an operator removes deliberately, not a package manager.
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
EOF
  chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/postrm"
  find "$root" -type d -exec chmod 0755 {} +
  dpkg-deb --root-owner-group --build "$root" "$out/${name}_${debian_version}_${arch}.deb" >/dev/null
  echo "built $out/${name}_${debian_version}_${arch}.deb"
  lintian --fail-on error \
    "$out/${name}_${debian_version}_${arch}.deb"
}

build_package sluice-outer \
  "Sluice outer host: filing intake and export across an air gap" \
  "The outer half of Sluice, the air-gapped sync appliance of a website-filing system: the intake service website owners and access providers submit filings to, the export that writes them into signed, compressed bundles for the inner network, and the apply that deletes a copy only once the inner side acknowledged it." \
  "sluice-outer sluice-transfer sluice-keys" \
  "sluice-outer.service sluice-export.service sluice-export.timer sluice-apply.service sluice-apply.path" \
  "outer/sluice-outer.example.toml:outer.toml transfer/config/outer.toml:transfer.toml"

build_package sluice-inner \
  "Sluice inner host: filing import, review and return across an air gap" \
  "The inner half of Sluice, the air-gapped sync appliance of a website-filing system: the import that applies each verified bundle to PostgreSQL in one transaction, the reviewers' tools, and the return channel that carries signed acknowledgements, review status and certificates back out." \
  "sluice-inner sluice-transfer sluice-keys" \
  "sluice-import.service sluice-import.path sluice-return.service sluice-return.timer sluice-inner-ops.service sluice-inner-review.service" \
  "transfer/config/inner.toml:transfer.toml"

if [ "$install" = yes ]; then
  dpkg() { if [ "$(id -u)" -eq 0 ]; then command dpkg "$@"; else sudo dpkg "$@"; fi; }
  for name in sluice-outer sluice-inner; do
    deb="$out/${name}_${debian_version}_${arch}.deb"
    dpkg -i "$deb"
    units=$(dpkg -L "$name" | grep '^/lib/systemd/system/.*\.\(service\|timer\|path\)$')
    # shellcheck disable=SC2086 # one argument per unit
    out_verify=$(systemd-analyze verify $units 2>&1) || {
      echo "FAIL systemd-analyze verify ($name): $out_verify" >&2; dpkg --purge "$name"; exit 1; }
    if [ -n "$out_verify" ]; then
      echo "FAIL systemd-analyze verify ($name): $out_verify" >&2; dpkg --purge "$name"; exit 1
    fi
    for path in /var/lib/sluice-outer /var/spool/sluice /etc/sluice/keys; do
      echo "  $(stat -c '%A %U:%G' "$path") $path"
    done
    getent passwd sluice sluice-intake >/dev/null || {
      echo "FAIL $name: the system users were not created" >&2; dpkg --purge "$name"; exit 1; }
    echo "ok   installed $name, its units verify, users and directories made"
    dpkg --purge "$name" >/dev/null
  done
fi
