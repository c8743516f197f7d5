// The x87 FPU's architectural state (SDM Vol. 1 §8.1): eight data registers
// R0-R7 used as a stack from TOP, the control, status and tag words, and the
// last instruction and data pointers (§8.1.8-8.1.9). Values are held as
// IEEE doubles: the model computes in double precision (53-bit significand)
// whatever PC says, and converts at 80-bit loads and stores (x87.ts).
// Kept apart from x87.ts so CpuState holds it without importing the
// instruction code.

/** FNINIT's control word (SDM Vol. 1 §8.1.5, Table 8-1 defaults): all exceptions masked, 64-bit precision, round to nearest. */
export const X87_CW_INIT = 0x037f;

export class X87State {
  /** Physical registers R0-R7 (ST(i) is R((TOP + i) mod 8)). */
  readonly r = new Float64Array(8);
  /** Bit i set: Ri is empty (tag 11). FNINIT empties all (§8.1.7). */
  empty = 0xff;
  top = 0;
  /** Status word without TOP (bits 13:11 live in `top`). */
  sw = 0;
  cw = X87_CW_INIT;
  /** Last non-control instruction: FIP, FCS, opcode (11 bits), FDP, FDS (§8.1.8-8.1.9). */
  fip = 0;
  fcs = 0;
  fop = 0;
  fdp = 0;
  fds = 0;

  /** FNINIT (Vol. 2 "FINIT/FNINIT"): CW 037FH, SW 0, TW FFFFH, pointers 0. Registers keep their values. */
  init(): void {
    this.cw = X87_CW_INIT;
    this.sw = 0;
    this.top = 0;
    this.empty = 0xff;
    this.fip = 0;
    this.fcs = 0;
    this.fop = 0;
    this.fdp = 0;
    this.fds = 0;
  }

  /** Copy everything from `o` (a vCPU's saved FPU context). */
  copyFrom(o: X87State): void {
    this.r.set(o.r);
    this.empty = o.empty;
    this.top = o.top;
    this.sw = o.sw;
    this.cw = o.cw;
    this.fip = o.fip;
    this.fcs = o.fcs;
    this.fop = o.fop;
    this.fdp = o.fdp;
    this.fds = o.fds;
  }
}
