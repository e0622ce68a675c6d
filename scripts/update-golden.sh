#!/usr/bin/env bash
# update-golden.sh — regenerate the golden reports in Tests/Golden and the README samples.
#
# Usage: scripts/update-golden.sh [--check]
#   --check   change nothing; list what differs and exit 1 if anything does
# Environment:
#   KNETCAP=/path   use this binary; otherwise `swift build` and the debug knetcap it builds
#
# For each line of Tests/Golden/TESTLIST (<name> <capture> <expected> <args...>) it runs
# `TZ=UTC knetcap <args...> -r <capture>` and writes stdout to Tests/Golden/<expected>; the
# run must exit 0 with an empty stderr. Then every README.md block marked
#
#   <!-- golden: Tests/Golden/FILE -->
#   ```
#   ...
#   ```
#
# is replaced by that file's text without its leading and trailing blank lines
# (Tests/KnetcapCLITests/GoldenTests.swift checks the same rule). Review the diff, then commit.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GOLDEN=$REPO/Tests/Golden
CHECK=0
die() { echo "update-golden.sh: $*" >&2; exit 1; }
case ${1:-} in
  "") ;;
  --check) CHECK=1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option: $1 (see --help)" ;;
esac
[[ -f $GOLDEN/TESTLIST ]] || die "no $GOLDEN/TESTLIST"
command -v python3 >/dev/null || die "python3 not found (it rewrites README.md)"

if [[ -n ${KNETCAP:-} ]]; then
  BIN=$(command -v "$KNETCAP") || die "KNETCAP=$KNETCAP is not an executable"
else
  (cd "$REPO" && swift build) || die "swift build failed; fix the build or set KNETCAP=/path/to/knetcap"
  BIN=$(cd "$REPO" && swift build --show-bin-path)/knetcap
  [[ -x $BIN ]] || die "no knetcap at $BIN; set KNETCAP=/path/to/knetcap"
fi
echo "update-golden.sh: knetcap: $BIN" >&2

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export TZ=UTC
set -f   # arguments are split on blanks, never globbed
status=0 count=0
while read -r name capture expected args; do
  [[ -z $name || $name == \#* ]] && continue
  [[ -n $capture && -n $expected ]] || die "TESTLIST line '$name': needs <name> <capture> <expected> [args]"
  [[ -f $REPO/$capture ]] || die "$name: no capture $capture"
  rc=0
  # shellcheck disable=SC2086  # $args is split on purpose
  "$BIN" $args -r "$REPO/$capture" > "$TMP/out" 2> "$TMP/err" < /dev/null || rc=$?
  [[ $rc == 0 ]] || die "$name: knetcap $args -r $capture exited $rc: $(head -c 500 "$TMP/err")"
  [[ ! -s $TMP/err ]] || die "$name: knetcap $args -r $capture wrote to stderr: $(head -c 500 "$TMP/err")"
  count=$((count + 1))
  if cmp -s "$TMP/out" "$GOLDEN/$expected"; then continue; fi
  if [[ $CHECK == 1 ]]; then
    echo "differs: Tests/Golden/$expected ($name)"
    diff -u "$GOLDEN/$expected" "$TMP/out" | head -40 || true
    status=1
  else
    cp "$TMP/out" "$GOLDEN/$expected"
    echo "wrote Tests/Golden/$expected"
  fi
done < "$GOLDEN/TESTLIST"
set +f
[[ $count -gt 0 ]] || die "TESTLIST has no tests"

# README.md: every marked block becomes its golden file's text.
rc=0
REPO=$REPO CHECK=$CHECK python3 - <<'PY' || rc=$?
import os, re, sys
repo, check = os.environ["REPO"], os.environ["CHECK"] == "1"
path = os.path.join(repo, "README.md")
lines = open(path, encoding="utf-8").read().split("\n")
out, i, blocks, bad = [], 0, 0, False
marker = re.compile(r"^<!-- golden: (\S+) -->$")
while i < len(lines):
    line = lines[i]
    out.append(line)
    i += 1
    m = marker.match(line)
    if not m:
        continue
    golden = os.path.join(repo, m.group(1))
    if not os.path.isfile(golden):
        sys.exit(f"update-golden.sh: README.md line {i}: no such golden file {m.group(1)}")
    if i >= len(lines) or lines[i] != "```":
        sys.exit(f"update-golden.sh: README.md line {i}: the marker must be followed by a ``` line")
    end = i + 1
    while end < len(lines) and lines[end] != "```":
        end += 1
    if end == len(lines):
        sys.exit(f"update-golden.sh: README.md line {i + 1}: code block never closed")
    text = open(golden, encoding="utf-8").read().split("\n")
    while text and text[0] == "": text.pop(0)
    while text and text[-1] == "": text.pop()
    if lines[i + 1:end] != text:
        print(f"{'differs' if check else 'rewrote'}: README.md block at line {i + 1} ({m.group(1)})")
        bad = True
    out += ["```"] + text + ["```"]
    i = end + 1
    blocks += 1
if blocks == 0:
    sys.exit("update-golden.sh: README.md has no <!-- golden: ... --> markers")
if bad and not check:
    open(path, "w", encoding="utf-8").write("\n".join(out))
sys.exit(1 if bad and check else 0)
PY
[[ $rc == 0 ]] || { [[ $CHECK == 1 ]] || die "README.md not updated"; status=1; }
if [[ $CHECK == 1 ]]; then
  [[ $status == 0 ]] && echo "update-golden.sh: $count golden reports and README samples are current" >&2
  exit $status
fi
echo "update-golden.sh: $count golden reports regenerated; README samples updated" >&2
