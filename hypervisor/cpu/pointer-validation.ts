// Pointer-validation instructions (SDM Vol. 3A §5.10): LAR, LSL, VERR, VERW
// and ARPL. They test a selector without loading it and report through ZF;
// an inaccessible or unsuitable descriptor is a result (ZF = 0), not a
// fault. All are #UD in real-address and virtual-8086 mode (Vol. 2 LAR,
// LSL, VERR/VERW, ARPL "Real-Address Mode Exceptions").
import { ud } from "./fault.js";
import { setFlags, ZF } from "./flags.js";
import { getR, type Insn, nextEip, readRM, STATUS_CONTINUE, setR, writeRM } from "./insn.js";
import { desc, dplOf, readDescriptor, realSegs, TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE } from "./segments.js";
import { AR_S, type CpuState } from "./state.js";

/** System-descriptor types LAR accepts (Vol. 2 LAR table): TSSs, LDT, call and task gates. */
const LAR_SYSTEM = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 9) | (1 << 0xb) | (1 << 0xc);
/** System-descriptor types LSL accepts (Vol. 2 LSL table): TSSs and LDT, no gates. */
const LSL_SYSTEM = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 9) | (1 << 0xb);

/**
 * Read the descriptor of `sel` and apply the checks LAR/LSL share: not
 * null, inside the table, an accepted system type (bit set in `system`) or
 * a code/data segment, and DPL >= CPL and DPL >= RPL unless conforming code.
 */
function visible(st: CpuState, sel: number, system: number): boolean {
  if ((sel & 0xfffc) === 0 || !readDescriptor(st, sel)) return false;
  const ar = desc.ar;
  const type = ar & 0xf;
  if (!(ar & AR_S)) {
    if (!((system >> type) & 1)) return false;
  } else if ((type & (TYPE_CODE | TYPE_CONFORMING)) === (TYPE_CODE | TYPE_CONFORMING)) return true;
  const dpl = dplOf(ar);
  return dpl >= st.cpl && dpl >= (sel & 3);
}

function setZ(st: CpuState, ok: boolean): void {
  setFlags(st, ok ? ZF : 0, ZF);
}

/**
 * 0F 02 LAR / 0F 03 LSL. LAR loads the descriptor's second doubleword
 * masked by 00FxFF00H; the SDM leaves bits 19:16 undefined and this model
 * returns them as 0 (mask 00F0FF00H), and a 16-bit operand gets bits 15:0.
 * LSL loads the byte-granular limit (scaled when G = 1). The destination is
 * unchanged when ZF = 0.
 */
export function larLsl(st: CpuState, i: Insn): number {
  if (realSegs(st)) ud(st);
  const s = i.o16 ? 1 : 2;
  const sel = readRM(st, i, 1);
  const lar = i.op === 0x102;
  const ok = visible(st, sel, lar ? LAR_SYSTEM : LSL_SYSTEM);
  if (ok) setR(st.regs, s, i.reg, lar ? desc.hi & 0x00f0ff00 : desc.limit);
  setZ(st, ok);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/**
 * 0F 00 /4 VERR, /5 VERW: ZF = 1 if the segment is a code/data segment
 * readable (VERR) or writable (VERW) at max(CPL, RPL). Conforming readable
 * code passes VERR at any privilege; code is never writable.
 */
export function verify(st: CpuState, i: Insn): number {
  if (realSegs(st)) ud(st);
  const sel = readRM(st, i, 1);
  setZ(st, verified(st, sel, i.reg === 5));
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

function verified(st: CpuState, sel: number, write: boolean): boolean {
  if ((sel & 0xfffc) === 0 || !readDescriptor(st, sel)) return false;
  const ar = desc.ar;
  if (!(ar & AR_S)) return false;
  const type = ar & 0xf;
  const code = (type & TYPE_CODE) !== 0;
  if (write ? code || !(type & 2) : code && !(type & TYPE_READABLE)) return false;
  if (!write && code && type & TYPE_CONFORMING) return true;
  const dpl = dplOf(ar);
  return dpl >= st.cpl && dpl >= (sel & 3);
}

/** 63 /r ARPL r/m16, r16: raise the destination selector's RPL to the source's; ZF says whether it changed. */
export function arpl(st: CpuState, i: Insn): number {
  if (realSegs(st)) ud(st);
  const dst = readRM(st, i, 1);
  const src = getR(st.regs, 1, i.reg);
  const raise = (dst & 3) < (src & 3);
  if (raise) writeRM(st, i, 1, (dst & ~3) | (src & 3));
  setZ(st, raise);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}
