#!/usr/bin/env bash
# Checks, without a container engine, that the image the Containerfile builds can run knetcap:
# every shared library the release binary loads (ldd) belongs to a Debian package that the
# Containerfile's `apt-get install` line names, or to one of those packages' own dependencies
# (apt-cache depends --recurse, Debian 12); and the tools the capture Job's script runs
# (timeout, tar for kubectl cp, crictl, sh) are installed there too.
#
#   scripts/containerfile-check.sh [.build/release/knetcap]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/knetcap}
[[ -x $bin ]] || { echo "containerfile-check: $bin: not built (make release)" >&2; exit 2; }
# The packages the Containerfile installs (the words of its apt-get install line that are not flags).
mapfile -t listed < <(sed -n '/apt-get install/,/&&/p' Containerfile | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' \
    | grep -v -E '^(apt-get|install|no-install-recommends|y)$')
[[ ${#listed[@]} -gt 3 ]] || { echo "containerfile-check: no package list found in Containerfile" >&2; exit 1; }
# Everything those packages pull in (Depends and PreDepends only, as --no-install-recommends).
mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${listed[@]}" 2>/dev/null | grep -E '^[a-z0-9]' | sed 's/:any$//' | sort -u)
in_image() { local p=$1; printf '%s\n' "${closure[@]}" | grep -qx -- "$p" || printf '%s\n' "${closure[@]}" | grep -qx -- "${p%:*}"; }
# Debian's base image (debian:bookworm-slim) has the Essential and required packages.
mapfile -t base < <(dpkg-query -W -f '${Package} ${Essential} ${Priority}\n' | awk '$2 == "yes" || $3 == "required" { print $1 }')
in_base() { printf '%s\n' "${base[@]}" | grep -qx -- "${1%:*}"; }
bad=0
while read -r lib path; do
    [[ $path == /* ]] || continue
    real=$(readlink -f "$path")
    pkg=""
    for candidate in "$real" "${real/#\/usr\/lib/\/lib}" "${real/#\/lib/\/usr\/lib}" "$path"; do
        pkg=$(dpkg -S "$candidate" 2>/dev/null | head -1 | cut -d: -f1) && [[ -n $pkg ]] && break
    done
    if [[ -z $pkg ]]; then echo "containerfile-check: $lib ($real) belongs to no Debian package" >&2; bad=1; continue; fi
    if in_image "$pkg" || in_base "$pkg"; then echo "  $lib: $pkg"
    else echo "containerfile-check: $lib comes from $pkg, which the Containerfile does not install" >&2; bad=1; fi
done < <(ldd "$bin" | awk '$2 == "=>" { print $1, $3 }')
for tool in timeout:coreutils tar:tar sh:dash; do
    pkg=${tool#*:}
    in_image "$pkg" || in_base "$pkg" || { echo "containerfile-check: ${tool%%:*} ($pkg) is not in the image" >&2; bad=1; }
done
grep -q 'crictl' Containerfile || { echo "containerfile-check: the Containerfile installs no crictl" >&2; bad=1; }
[[ $bad == 0 ]] && echo "containerfile-check: OK: every library $bin loads is in the image"
exit $bad
