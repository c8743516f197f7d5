// Message transfer descriptor bits, NOVA classic numbering (DESIGN.md §3).
export const Mtd = {
  GPR_ACDB: 1 << 0,
  GPR_BSD: 1 << 1,
  RSP: 1 << 2,
  RIP_LEN: 1 << 3,
  RFLAGS: 1 << 4,
  DS_ES: 1 << 5,
  FS_GS: 1 << 6,
  CS_SS: 1 << 7,
  TR: 1 << 8,
  LDTR: 1 << 9,
  GDTR: 1 << 10,
  IDTR: 1 << 11,
  CR: 1 << 12,
  DR: 1 << 13,
  SYSENTER: 1 << 14,
  QUAL: 1 << 15,
  CTRL: 1 << 16,
  INJ: 1 << 17,
  STA: 1 << 18,
  TSC: 1 << 19,
  EFER: 1 << 20,
  FPU: 1 << 31,
} as const;

/** Every bit NOVA defines. */
export const MTD_ALL = Object.values(Mtd).reduce((a, b) => (a | b) >>> 0, 0) >>> 0;

/** Groups a VMM may write back: all defined groups but the exit
 * qualification, which is exit information and read-only (SDM §24.9),
 * and FPU, which this processor does not model yet. */
export const MTD_REPLY_ALLOWED = (MTD_ALL & ~Mtd.QUAL & ~Mtd.FPU) >>> 0;

/** Names of the MTD bits in `mtd`, for diagnostics ("GPR_ACDB|RIP_LEN"). */
export function mtdNames(mtd: number): string {
  return Object.entries(Mtd)
    .filter(([, bit]) => (mtd & bit) !== 0)
    .map(([name]) => name)
    .join("|");
}
