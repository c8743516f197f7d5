#!/usr/bin/env bash
# Boots moat's Linux test guest (built by build.sh, which this runs first and
# which returns at once when nothing changed) in QEMU, as an oracle for what
# moat must print, and checks the serial output. QEMU's TCG is the reference
# machine here: the same bzImage and initramfs must give the same lines in moat.
#
#   guests/linux/qemu-check.sh                 # runs 486, pentium2, 486 + no387
#   guests/linux/qemu-check.sh pentium2        # only the named CPU models
#   MOAT_QEMU_TIMEOUT=300 guests/linux/qemu-check.sh
#
# A run passes when the output has our init's banner, the prime count 2262,
# "moat-init: done", the kernel's "reboot: System halted" (what power-off does
# on this config: see config), and no "Kernel panic". The kernel then loops on
# HLT with interrupts off, so QEMU never exits on its own: this script ends it
# once the halt line appears, or at the timeout. Each log is kept in
# ${MOAT_CACHE:-$HOME/.cache/moat}/linux/qemu-<cpu>.log. Exit status 0 only if
# every run passes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${MOAT_CACHE:-$HOME/.cache/moat}/linux"
timeout_s="${MOAT_QEMU_TIMEOUT:-180}"

log() { echo "guests/linux: $*" >&2; }

ensure_qemu() {
  command -v qemu-system-i386 >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing qemu-system-x86 from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
  else
    log "qemu-system-i386 is missing; install with: sudo apt-get install qemu-system-x86"
    exit 1
  fi
}

now_ms() { date +%s%3N; }

# boot <name> <cpu> <extra kernel arguments>: runs QEMU until the guest halts
# or the timeout, leaves the serial output in $cache/qemu-<name>.log.
boot() {
  local name="$1" cpu="$2" extra="$3" out="$cache/qemu-$1.log" pid start elapsed
  : >"$out"
  start="$(now_ms)"
  qemu-system-i386 -cpu "$cpu" -m 64 -nographic -no-reboot \
    -kernel "$bzimage" -initrd "$initramfs" -append "console=ttyS0 $extra" \
    </dev/null >"$out" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if grep -q -e 'reboot: System halted' -e 'Kernel panic' "$out"; then break; fi
    if [ $(($(now_ms) - start)) -gt $((timeout_s * 1000)) ]; then
      log "$name: timeout after ${timeout_s}s"
      break
    fi
    sleep 0.1
  done
  elapsed=$(($(now_ms) - start))
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$elapsed"
}

# check <name> <elapsed ms> <regex>: 0 when the log has every expected line,
# one matching <regex> (when given), and no error or panic.
check() {
  local name="$1" ms="$2" regex="$3" out="$cache/qemu-$1.log" ok=0 want
  for want in 'moat-init: hello from PID 1' 'moat-init: primes below 20000: 2262' \
    'moat-init: done' 'reboot: System halted'; do
    if ! grep -q -F "$want" "$out"; then
      log "$name: missing \"$want\""
      ok=1
    fi
  done
  if [ -n "$regex" ] && ! grep -q -E "$regex" "$out"; then
    log "$name: no line matches /$regex/"
    ok=1
  fi
  if grep -E 'Kernel panic|moat-init: (error|warning|reboot returned)' "$out" >&2; then
    ok=1
  fi
  if [ "$ok" != 0 ]; then
    log "$name: FAILED; last lines of $out:"
    tail -n 30 "$out" >&2
    return 1
  fi
  log "$name: ok in ${ms} ms (QEMU TCG, to 'System halted'); $(grep -a -m 1 -o 'Linux version [^(]*' "$out")"
}

main() {
  local paths runs=() failed=0 run name cpu extra regex ms
  paths="$(bash "$here/build.sh")"
  bzimage="$(sed -n 1p <<<"$paths")"
  initramfs="$(sed -n 2p <<<"$paths")"
  ensure_qemu
  if [ $# -gt 0 ]; then
    for cpu in "$@"; do runs+=("$cpu|$cpu||"); done
  else
    # name|cpu|extra kernel arguments|a line /proc/cpuinfo must show.
    # no387: the kernel ignores the x87 and relies on its math emulation
    # (CR0.EM set, x87 instructions trap with #NM), as it must on a processor
    # without an FPU; cpuinfo then says "fpu : no".
    runs=("486|486||^fpu[[:space:]]+: yes" "pentium2|pentium2||^fpu[[:space:]]+: yes"
      "486-no387|486|no387|^fpu[[:space:]]+: no")
  fi
  for run in "${runs[@]}"; do
    IFS='|' read -r name cpu extra regex <<<"$run"
    ms="$(boot "$name" "$cpu" "$extra")"
    check "$name" "$ms" "$regex" || failed=1
  done
  return "$failed"
}

main "$@"
