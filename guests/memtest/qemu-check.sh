#!/usr/bin/env bash
# The oracle for test/memtest.test.ts: boots the same memtest86+ image with
# the same command line in QEMU (TCG, -cpu pentium2, 64 MiB) and checks that
# its serial screen shows every line of expected.txt, the lines the test
# requires of moat. Those lines do not depend on timing, memory map or
# firmware: banner, CPU name (from CPUID family/model), core count with SMP
# off, the first test's name and range, status and key help lines. QEMU is
# stopped once the first test is under way, or after the timeout.
#
#   guests/memtest/qemu-check.sh               # exit 0 when every line is there
#   MOAT_QEMU_TIMEOUT=120 guests/memtest/qemu-check.sh
# The serial log stays in ${MOAT_CACHE:-$HOME/.cache/moat}/memtest/qemu.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MOAT_CACHE:-$HOME/.cache/moat}/memtest"
timeout_s="${MOAT_QEMU_TIMEOUT:-60}"
# Keep in step with test/memtest.test.ts.
cmdline="console=ttyS0,115200 nosmp nopause"

log() { echo "guests/memtest: $*" >&2; }

image="$(bash "$here/fetch.sh")"
if [ -z "$image" ]; then
  log "no memtest86+ image; nothing to check"
  exit 1
fi
command -v qemu-system-i386 >/dev/null 2>&1 || {
  log "qemu-system-i386 is missing; install with: sudo apt-get install qemu-system-x86"
  exit 1
}

out="$cache/qemu.log"
: >"$out"
qemu-system-i386 -cpu pentium2 -m 64 -nographic -no-reboot -kernel "$image" -append "$cmdline" \
  </dev/null >"$out" 2>&1 &
pid=$!
for _ in $(seq $((timeout_s * 10))); do
  grep -q -F 'Using: Core #0' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
sleep 1
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

failed=0
while IFS= read -r want; do
  [ -z "$want" ] && continue
  if ! grep -q -F -- "$want" "$out"; then
    log "QEMU's screen lacks \"$want\""
    failed=1
  fi
done <"$here/expected.txt"
[ "$failed" = 0 ] && log "QEMU shows every line of expected.txt ($out)"
exit "$failed"
