#!/usr/bin/env bash
# Installs the Debian packages Sluice's demo and tests use, if any is missing.
#
#   bash scripts/setup.sh demo   only what the demo needs: postgresql (the demo starts its own
#                                throwaway cluster from its server binaries)
#   bash scripts/setup.sh        everything the tests need as well:
#   signify-openbsd, openssl, zstd, minisign  independent checks of signatures and payloads
#   age                                       the stock decrypter, for bundles encrypted on the medium
#   postgresql                                the inner store (tests start throwaway clusters)
#   sqlite3                                   looking into the outer store by hand
#   chromium, fonts-wqy-microhei               the status page test in a real browser
#   python3-aiosmtpd                          the SMTP server the account tests read codes from
#   systemd                                   systemd-analyze, to check the units
#   time                                      /usr/bin/time, the import's peak memory in tests and benches
#   prometheus                                promtool, to check and test the alert rules
#   dpkg-dev, lintian                         building the .deb packages and checking them
# and from PyPI: schemathesis, which probes the outer service against its OpenAPI description.
# cargo-deny, which only CI's own checks use, is installed by .ci/run, so the demo's set-up
# does not build it from source.
# Prints what it installs; does nothing when everything is there.
set -euo pipefail

case "${1:-tests}" in
  demo) scope=demo ;;
  tests) scope=tests ;;
  *)
    echo "usage: bash scripts/setup.sh [demo|tests]: '$1' is neither (demo installs what the demo needs, tests, the default, everything)" >&2
    exit 2
    ;;
esac

need=()
have() { command -v "$1" >/dev/null 2>&1; }
install_missing() {
  [ ${#need[@]} -gt 0 ] || return 0
  echo "installing: ${need[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
}

{ have pg_config && [ -x "$(pg_config --bindir)/initdb" ]; } || need+=(postgresql)
if [ "$scope" = demo ]; then
  install_missing
  exit 0
fi

have signify-openbsd || need+=(signify-openbsd)
have minisign || need+=(minisign)
have zstd || need+=(zstd)
have age || need+=(age)
have openssl || need+=(openssl)
have sqlite3 || need+=(sqlite3)
have systemd-analyze || need+=(systemd)
[ -x /usr/bin/time ] || need+=(time)
have promtool || need+=(prometheus)
have dpkg-shlibdeps || need+=(dpkg-dev)
have lintian || need+=(lintian)
have chromium || need+=(chromium)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-microhei)

install_missing

if ! have schemathesis; then
  echo "installing: schemathesis (PyPI)"
  python3 -m pip install --quiet schemathesis==4.32.5
  # pyenv installs need their command shims refreshed.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi
