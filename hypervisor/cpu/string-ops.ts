// MOVS, CMPS, STOS, LODS, SCAS with and without REP/REPE/REPNE (SDM Vol. 2
// instruction pages; Vol. 1 §7.3.9). Registers are updated after every
// iteration, so a fault, a VM exit or the end of the budget in the middle of
// a REP leaves a state from which the instruction simply runs again
// (interruptible string instructions, Vol. 3A §6.7 note on REP).
import { DF, K_SUB, MASK } from "./flags.js";
import { getR, setR } from "./insn.js";
import { checkSeg, flatSeg } from "./limits.js";
import { rdS, wrS } from "./memory.js";
import { type CpuState, DS, EAX, ECX, EDI, ES, ESI } from "./state.js";

/**
 * One string instruction (opcode A4-A7, AA-AF). `room` bounds the
 * iterations performed now; st.iters reports them (at least 1). Returns
 * false if a REP stopped early with iterations left (EIP stays on it).
 */
export function stringOp(
  st: CpuState,
  op: number,
  o16: boolean,
  a16: boolean,
  rep: number,
  seg: number,
  room: number,
): boolean {
  const r = st.regs;
  const s = op & 1 ? (o16 ? 1 : 2) : 0;
  const delta = st.fl & DF ? -(1 << s) : 1 << s;
  if (rep === 0) {
    step(st, op, s, delta, a16, seg);
    st.iters = 1;
    return true;
  }
  const compares = op === 0xa6 || op === 0xa7 || op === 0xae || op === 0xaf;
  let it = 0;
  for (;;) {
    const cx = a16 ? r[ECX] & 0xffff : r[ECX];
    if (cx === 0) break;
    if (it === room) {
      st.iters = it;
      return false;
    }
    step(st, op, s, delta, a16, seg);
    setR(r, a16 ? 1 : 2, ECX, cx - 1);
    it++;
    if (compares) {
      const zf = (st.lres & MASK[s]) === 0;
      if (rep === 1 ? !zf : zf) break;
    }
  }
  st.iters = it === 0 ? 1 : it;
  return true;
}

function step(st: CpuState, op: number, s: number, delta: number, a16: boolean, seg: number): void {
  const r = st.regs;
  const m = st.mem;
  const sb = st.segBase;
  const si = a16 ? r[ESI] & 0xffff : r[ESI];
  const di = a16 ? r[EDI] & 0xffff : r[EDI];
  const sr = seg < 0 ? DS : seg;
  const src = (si + sb[sr]) | 0;
  const dst = (di + sb[ES]) | 0;
  const as = a16 ? 1 : 2;
  if (a16 || !flatSeg(st, sr) || !flatSeg(st, ES)) {
    // 16-bit addressing or a non-flat segment: an element may lie outside the limit (limits.ts, SDM 5.3).
    const n = 1 << s;
    if (op !== 0xaa && op !== 0xab && op !== 0xae && op !== 0xaf) checkSeg(st, sr, si, n);
    if (op !== 0xac && op !== 0xad) checkSeg(st, ES, di, n);
  }
  switch (op) {
    case 0xa4:
    case 0xa5:
      wrS(m, s, dst, rdS(m, s, src));
      setR(r, as, ESI, si + delta);
      setR(r, as, EDI, di + delta);
      break;
    case 0xa6:
    case 0xa7: {
      const a = rdS(m, s, src) & MASK[s];
      const b = rdS(m, s, dst) & MASK[s];
      subFlags(st, s, a, b);
      setR(r, as, ESI, si + delta);
      setR(r, as, EDI, di + delta);
      break;
    }
    case 0xaa:
    case 0xab:
      wrS(m, s, dst, getR(r, s, EAX));
      setR(r, as, EDI, di + delta);
      break;
    case 0xac:
    case 0xad:
      setR(r, s, EAX, rdS(m, s, src));
      setR(r, as, ESI, si + delta);
      break;
    default: {
      const b = rdS(m, s, dst) & MASK[s];
      subFlags(st, s, getR(r, s, EAX), b);
      setR(r, as, EDI, di + delta);
      break;
    }
  }
}

function subFlags(st: CpuState, s: number, a: number, b: number): void {
  st.la = a;
  st.lb = b;
  st.lres = (a - b) & MASK[s];
  st.lop = (K_SUB << 2) | s;
}
