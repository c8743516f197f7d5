// The instruction interpreter's hot loop (DESIGN.md §7): one `switch` over
// the opcode with EIP, the retired-instruction count and the fetch position
// in local variables, registers in an Int32Array, lazy flags, memory through
// the TLB fast path, instruction bytes straight from the cached code page.
// Frequent instructions are handled here; everything else leaves through
// `default` to slow-ops.ts so this function stays small enough for V8 to
// optimize. Guest exceptions and VM exits unwind to the catch below as the
// preallocated FAULT object (fault.ts).
import { aluFlags, aluRes, divAcc, imulTrunc, mulAcc, shiftOut, shiftRes } from "./alu.js";
import { MODRM, PREFIX } from "./decode.js";
import { FAULT, FAULT_EXIT, ud } from "./fault.js";
import { fetchWindow } from "./fetch.js";
import { getCF, getFlags, K_ADD, K_DEC, K_INC, K_LOGIC, K_SUB, MASK, testCC } from "./flags.js";
import { getR, setR } from "./insn.js";
import { deliverFault } from "./interrupts.js";
import { checkSeg, edgeCheck, fastStack } from "./limits.js";
import { rd8, rd32, rdS, wr8, wr32, wrS } from "./memory.js";
import { prefixChecks } from "./prefixes.js";
import { STATUS_CONTINUE, STATUS_EXIT, slowOp } from "./slow-ops.js";
import { leave, pop, push, retNear } from "./stack.js";
import { type CpuState, CS, DS, ECX, ESP, SS } from "./state.js";
import { stringOp } from "./string-ops.js";

/** Segment register selected by a segment-override prefix byte. */
const SEG_PREFIX = new Int8Array(256).fill(-1);
SEG_PREFIX[0x26] = 0;
SEG_PREFIX[0x2e] = 1;
SEG_PREFIX[0x36] = 2;
SEG_PREFIX[0x3e] = 3;
SEG_PREFIX[0x64] = 4;
SEG_PREFIX[0x65] = 5;

function le32(b: Uint8Array, p: number): number {
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/**
 * Run guest instructions until `limit` instructions have retired in this
 * entry (st.count), an instruction asks for an instruction-boundary check
 * (STI, POPF, HLT, ... : returns with st.exitReason < 0), or a VM exit
 * (st.exitReason >= 0, EIP at the instruction that exited).
 */
export function execute(st: CpuState, limit: number): void {
  const r = st.regs;
  const m = st.mem;
  const sb = st.segBase;
  let eip = st.eip;
  let count = st.count;
  let start = eip;
  let csBase = sb[CS];
  let d16 = st.code16;
  // SS.B = 0 or SS not flat: pushes and pops go through stack.ts (16-bit wrap, SS limit check).
  let s16 = !fastStack(st);
  // TLB arrays and key as locals: V8 does not inline small helpers into a function this large,
  // so the 32-bit load/store fast paths below are written out (memory.ts has the same logic).
  const tagR = m.tagR;
  const tagW = m.tagW;
  const tb = m.bytes;
  const to = m.offset;
  let key = m.key;
  for (;;) {
    try {
      while (count < limit) {
        start = eip;
        count++;
        const lin = (eip + csBase) | 0;
        let buf: Uint8Array;
        let p: number;
        if (lin >>> 12 === m.codePage && (lin & 0xfff) <= 0xff0) {
          buf = m.codeBytes;
          p = m.codeOff + (lin & 0xfff);
        } else {
          buf = fetchWindow(st, lin);
          p = st.dp;
        }
        const p0 = p;
        let op = buf[p++];
        let o16 = d16;
        let a16 = d16;
        let seg = -1;
        let rep = 0;
        if (PREFIX[op]) {
          let lock = false;
          do {
            if (op === 0x66) o16 = !d16;
            else if (op === 0x67) a16 = !d16;
            else if (op === 0xf3) rep = 1;
            else if (op === 0xf2) rep = 2;
            else if (op === 0xf0) lock = true;
            else seg = SEG_PREFIX[op];
            op = buf[p++];
          } while (PREFIX[op] && p - p0 < 15);
          if (lock || p - p0 > 4) prefixChecks(st, buf, p0, p, lock, d16);
        }
        if (op === 0x0f) op = 0x100 | buf[p++];
        const sz = o16 ? 1 : 2;
        let slow = false;
        let modrm = 0;
        let reg = 0;
        let rmr = -1;
        let ea = 0;
        let off = 0;
        if (MODRM[op]) {
          modrm = buf[p++];
          reg = (modrm >> 3) & 7;
          if (modrm >= 0xc0) rmr = modrm & 7;
          else if (a16) {
            off = ea16(st, r, buf, p, modrm);
            p = st.dp;
            const sr = seg < 0 ? st.la16Seg : seg;
            // Near the end of the segment or expand-down: is this operand outside the segment (limits.ts)?
            if (off + 7 > st.segLimit[sr] >>> 0 || (st.segAr[sr] & 4) !== 0) edgeCheck(st, op, reg, o16, sr, off);
            ea = (off + sb[sr]) | 0;
          } else {
            const mod = modrm >> 6;
            const rmf = modrm & 7;
            let dseg = DS;
            if (rmf === 4) {
              const sib = buf[p++];
              const base = sib & 7;
              const idx = (sib >> 3) & 7;
              if (base === 5 && mod === 0) {
                off = le32(buf, p);
                p += 4;
              } else {
                off = r[base];
                if (base === 4 || base === 5) dseg = SS;
              }
              if (idx !== 4) off = (off + (r[idx] << (sib >> 6))) | 0;
            } else if (rmf === 5 && mod === 0) {
              off = le32(buf, p);
              p += 4;
            } else {
              off = r[rmf];
              if (rmf === 5) dseg = SS;
            }
            if (mod === 1) off = (off + ((buf[p++] << 24) >> 24)) | 0;
            else if (mod === 2) {
              off = (off + le32(buf, p)) | 0;
              p += 4;
            }
            const sr = seg < 0 ? dseg : seg;
            // Within 7 bytes of the limit (8-byte operands) or expand-down: the full check (limits.ts).
            if (off >>> 0 > (st.segLimit[sr] >>> 0) - 7 || (st.segAr[sr] & 4) !== 0) {
              edgeCheck(st, op, reg, o16, sr, off >>> 0);
            }
            ea = (off + sb[sr]) | 0;
          }
        }
        switch (op) {
          // ---- ALU: ADD OR ADC SBB AND SUB XOR CMP, forms Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz ----
          case 0x00:
          case 0x01:
          case 0x02:
          case 0x03:
          case 0x04:
          case 0x05:
          case 0x08:
          case 0x09:
          case 0x0a:
          case 0x0b:
          case 0x0c:
          case 0x0d:
          case 0x10:
          case 0x11:
          case 0x12:
          case 0x13:
          case 0x14:
          case 0x15:
          case 0x18:
          case 0x19:
          case 0x1a:
          case 0x1b:
          case 0x1c:
          case 0x1d:
          case 0x20:
          case 0x21:
          case 0x22:
          case 0x23:
          case 0x24:
          case 0x25:
          case 0x28:
          case 0x29:
          case 0x2a:
          case 0x2b:
          case 0x2c:
          case 0x2d:
          case 0x30:
          case 0x31:
          case 0x32:
          case 0x33:
          case 0x34:
          case 0x35:
          case 0x38:
          case 0x39:
          case 0x3a:
          case 0x3b:
          case 0x3c:
          case 0x3d: {
            const k = op >> 3;
            const form = op & 7;
            const s = form & 1 ? sz : 0;
            let a: number;
            let b: number;
            if (form < 4) {
              let x: number;
              if (rmr >= 0) x = s === 2 ? r[rmr] : getR(r, s, rmr);
              else if (s === 2) {
                const vpn = ea >>> 12;
                if (tagR[vpn] === key && (ea & 0xfff) <= 0xffc) {
                  const hb = tb[vpn]!;
                  const o = to[vpn] + (ea & 0xfff);
                  x = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);
                } else x = rd32(m, ea);
              } else x = rdS(m, s, ea);
              const y = s === 2 ? r[reg] : getR(r, s, reg);
              if (form < 2) {
                a = x;
                b = y;
              } else {
                a = y;
                b = x;
              }
            } else {
              a = getR(r, s, 0);
              if (s === 0) b = buf[p++];
              else if (s === 1) {
                b = buf[p] | (buf[p + 1] << 8);
                p += 2;
              } else {
                b = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
                p += 4;
              }
            }
            let res: number;
            let lk: number;
            if (k === 7 || k === 5) {
              res = (a - b) & MASK[s];
              lk = K_SUB;
            } else if (k === 0) {
              res = (a + b) & MASK[s];
              lk = K_ADD;
            } else if (k === 2 || k === 3) {
              const cin = getCF(st);
              res = aluRes(k, s, a, b, cin);
              if (form > 1) setR(r, s, form < 4 ? reg : 0, res);
              else if (rmr >= 0) setR(r, s, rmr, res);
              else wrS(m, s, ea, res);
              aluFlags(st, k, s, a, b, res, cin);
              break;
            } else {
              res = k === 4 ? a & b : k === 1 ? a | b : a ^ b;
              lk = K_LOGIC;
            }
            if (k !== 7) {
              if (form > 1) {
                const d = form < 4 ? reg : 0;
                if (s === 2) r[d] = res;
                else setR(r, s, d, res);
              } else if (rmr >= 0) {
                if (s === 2) r[rmr] = res;
                else setR(r, s, rmr, res);
              } else wrS(m, s, ea, res);
            }
            // Flags after the store: a faulting store leaves EFLAGS unchanged.
            st.lop = (lk << 2) | s;
            st.la = a;
            st.lb = b;
            st.lres = res;
            break;
          }
          case 0x40:
          case 0x41:
          case 0x42:
          case 0x43:
          case 0x44:
          case 0x45:
          case 0x46:
          case 0x47:
          case 0x48:
          case 0x49:
          case 0x4a:
          case 0x4b:
          case 0x4c:
          case 0x4d:
          case 0x4e:
          case 0x4f: {
            const n = op & 7;
            const a = sz === 2 ? r[n] : getR(r, sz, n);
            const res = (op < 0x48 ? a + 1 : a - 1) & MASK[sz];
            const lop = st.lop;
            st.lb = lop === 0 ? st.fl & 1 : getCF(st);
            st.la = a;
            st.lres = res;
            st.lop = ((op < 0x48 ? K_INC : K_DEC) << 2) | sz;
            if (sz === 2) r[n] = res;
            else setR(r, sz, n, res);
            break;
          }
          case 0x50:
          case 0x51:
          case 0x52:
          case 0x53:
          case 0x54:
          case 0x55:
          case 0x56:
          case 0x57: {
            const v = r[op & 7];
            if (o16 || s16) push(st, sz * 2, v);
            else {
              const esp = (r[ESP] - 4) | 0;
              const sa = (esp + sb[SS]) | 0;
              {
                const vpn = sa >>> 12;
                if (tagW[vpn] === key && (sa & 0xfff) <= 0xffc) {
                  const hb = tb[vpn]!;
                  const o = to[vpn] + (sa & 0xfff);
                  hb[o] = v;
                  hb[o + 1] = v >>> 8;
                  hb[o + 2] = v >>> 16;
                  hb[o + 3] = v >>> 24;
                } else wr32(m, sa, v);
              }
              r[ESP] = esp;
            }
            break;
          }
          case 0x58:
          case 0x59:
          case 0x5a:
          case 0x5b:
          case 0x5c:
          case 0x5d:
          case 0x5e:
          case 0x5f: {
            if (o16 || s16) setR(r, sz, op & 7, pop(st, sz * 2));
            else {
              const sa = (r[ESP] + sb[SS]) | 0;
              let v: number;
              {
                const vpn = sa >>> 12;
                if (tagR[vpn] === key && (sa & 0xfff) <= 0xffc) {
                  const hb = tb[vpn]!;
                  const o = to[vpn] + (sa & 0xfff);
                  v = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);
                } else v = rd32(m, sa);
              }
              r[ESP] = (r[ESP] + 4) | 0;
              r[op & 7] = v;
            }
            break;
          }
          case 0x68:
          case 0x6a: {
            let v: number;
            if (op === 0x6a) v = (buf[p++] << 24) >> 24;
            else if (o16) {
              v = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              v = le32(buf, p);
              p += 4;
            }
            if (o16 || s16) push(st, sz * 2, v);
            else {
              const esp = (r[ESP] - 4) | 0;
              wr32(m, (esp + sb[SS]) | 0, v);
              r[ESP] = esp;
            }
            break;
          }
          case 0x69:
          case 0x6b: {
            const a = rmr >= 0 ? getR(r, sz, rmr) : rdS(m, sz, ea);
            let b: number;
            if (op === 0x6b) b = (buf[p++] << 24) >> 24;
            else if (o16) {
              b = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              b = le32(buf, p);
              p += 4;
            }
            setR(r, sz, reg, imulTrunc(st, sz, a, b));
            break;
          }
          case 0x70:
          case 0x71:
          case 0x72:
          case 0x73:
          case 0x74:
          case 0x75:
          case 0x76:
          case 0x77:
          case 0x78:
          case 0x79:
          case 0x7a:
          case 0x7b:
          case 0x7c:
          case 0x7d:
          case 0x7e:
          case 0x7f: {
            const d = (buf[p++] << 24) >> 24;
            const lop = st.lop;
            if (
              (op & 0xe) === 4 && lop !== 0
                ? ((st.lres & MASK[lop & 3]) === 0) !== ((op & 1) === 1)
                : testCC(st, op & 15)
            ) {
              eip = (start + (p - p0) + d) | 0;
              if (o16) eip &= 0xffff;
              continue;
            }
            break;
          }
          case 0x80:
          case 0x81:
          case 0x82:
          case 0x83: {
            const s = op === 0x81 || op === 0x83 ? sz : 0;
            let a: number;
            if (rmr >= 0) a = s === 2 ? r[rmr] : getR(r, s, rmr);
            else if (s === 2) {
              const vpn = ea >>> 12;
              if (tagR[vpn] === key && (ea & 0xfff) <= 0xffc) {
                const hb = tb[vpn]!;
                const o = to[vpn] + (ea & 0xfff);
                a = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);
              } else a = rd32(m, ea);
            } else a = rdS(m, s, ea);
            let b: number;
            if (op !== 0x81) {
              b = buf[p++];
              if (op === 0x83) b = ((b << 24) >> 24) & MASK[s];
            } else if (o16) {
              b = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              b = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
              p += 4;
            }
            const cin = reg === 2 || reg === 3 ? getCF(st) : 0;
            const res = aluRes(reg, s, a, b, cin);
            if (reg !== 7) {
              if (rmr >= 0) {
                if (s === 2) r[rmr] = res;
                else setR(r, s, rmr, res);
              } else wrS(m, s, ea, res);
            }
            aluFlags(st, reg, s, a, b, res, cin);
            break;
          }
          case 0x84:
          case 0x85: {
            const s = op & 1 ? sz : 0;
            const a = rmr >= 0 ? getR(r, s, rmr) : rdS(m, s, ea);
            st.lres = a & (s === 2 ? r[reg] : getR(r, s, reg));
            st.lop = (K_LOGIC << 2) | s;
            break;
          }
          case 0x86:
          case 0x87: {
            const s = op & 1 ? sz : 0;
            const v = getR(r, s, reg);
            if (rmr >= 0) {
              setR(r, s, reg, getR(r, s, rmr));
              setR(r, s, rmr, v);
            } else {
              const x = rdS(m, s, ea);
              wrS(m, s, ea, v);
              setR(r, s, reg, x);
            }
            break;
          }
          case 0x88:
          case 0x89: {
            if (op === 0x89 && !o16) {
              const v = r[reg];
              if (rmr >= 0) r[rmr] = v;
              else {
                const vpn = ea >>> 12;
                if (tagW[vpn] === key && (ea & 0xfff) <= 0xffc) {
                  const hb = tb[vpn]!;
                  const o = to[vpn] + (ea & 0xfff);
                  hb[o] = v;
                  hb[o + 1] = v >>> 8;
                  hb[o + 2] = v >>> 16;
                  hb[o + 3] = v >>> 24;
                } else wr32(m, ea, v);
              }
              break;
            }
            const s = op & 1 ? sz : 0;
            const v = getR(r, s, reg);
            if (rmr >= 0) setR(r, s, rmr, v);
            else wrS(m, s, ea, v);
            break;
          }
          case 0x8a:
          case 0x8b: {
            if (op === 0x8b && !o16) {
              if (rmr >= 0) r[reg] = r[rmr];
              else {
                let v: number;
                {
                  const vpn = ea >>> 12;
                  if (tagR[vpn] === key && (ea & 0xfff) <= 0xffc) {
                    const hb = tb[vpn]!;
                    const o = to[vpn] + (ea & 0xfff);
                    v = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);
                  } else v = rd32(m, ea);
                }
                r[reg] = v;
              }
              break;
            }
            const s = op & 1 ? sz : 0;
            setR(r, s, reg, rmr >= 0 ? getR(r, s, rmr) : rdS(m, s, ea));
            break;
          }
          case 0x8d:
            if (rmr >= 0) ud(st);
            if (sz === 2) r[reg] = a16 ? off & 0xffff : off;
            else setR(r, sz, reg, off);
            break;
          case 0x90:
            if (rep !== 0) slow = true; // PAUSE
            break;
          case 0x91:
          case 0x92:
          case 0x93:
          case 0x94:
          case 0x95:
          case 0x96:
          case 0x97: {
            const v = getR(r, sz, 0);
            setR(r, sz, 0, getR(r, sz, op & 7));
            setR(r, sz, op & 7, v);
            break;
          }
          case 0x98:
            if (o16) setR(r, 1, 0, (r[0] << 24) >> 24);
            else r[0] = (r[0] << 16) >> 16;
            break;
          case 0x99:
            if (o16) setR(r, 1, 2, (r[0] << 16) >> 31);
            else r[2] = r[0] >> 31;
            break;
          case 0xa0:
          case 0xa1:
          case 0xa2:
          case 0xa3: {
            let moff: number;
            if (a16) {
              moff = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              moff = le32(buf, p);
              p += 4;
            }
            const s = op & 1 ? sz : 0;
            const sr = seg < 0 ? DS : seg;
            if (moff >>> 0 > (st.segLimit[sr] >>> 0) - 3 || (st.segAr[sr] & 4) !== 0) checkSeg(st, sr, moff, 1 << s);
            const lin2 = (moff + sb[sr]) | 0;
            if (op < 0xa2) setR(r, s, 0, rdS(m, s, lin2));
            else wrS(m, s, lin2, getR(r, s, 0));
            break;
          }
          case 0xa4:
          case 0xa5:
          case 0xa6:
          case 0xa7:
          case 0xaa:
          case 0xab:
          case 0xac:
          case 0xad:
          case 0xae:
          case 0xaf:
            // Each iteration of a REP string instruction counts as one retired instruction, so a long
            // REP stays within the budget and stops with EIP at the instruction, as an interrupt would.
            st.ip0 = start;
            if (!stringOp(st, op, o16, a16, rep, seg, limit - count + 1)) {
              count += st.iters - 1;
              eip = start;
              continue;
            }
            count += st.iters - 1;
            break;
          case 0xa8:
          case 0xa9: {
            let b: number;
            const s = op & 1 ? sz : 0;
            if (s === 0) b = buf[p++];
            else if (s === 1) {
              b = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              b = le32(buf, p);
              p += 4;
            }
            st.lres = getR(r, s, 0) & b;
            st.lop = (K_LOGIC << 2) | s;
            break;
          }
          case 0xb0:
          case 0xb1:
          case 0xb2:
          case 0xb3:
          case 0xb4:
          case 0xb5:
          case 0xb6:
          case 0xb7:
            setR(r, 0, op & 7, buf[p++]);
            break;
          case 0xb8:
          case 0xb9:
          case 0xba:
          case 0xbb:
          case 0xbc:
          case 0xbd:
          case 0xbe:
          case 0xbf:
            if (o16) {
              setR(r, 1, op & 7, buf[p] | (buf[p + 1] << 8));
              p += 2;
            } else {
              r[op & 7] = le32(buf, p);
              p += 4;
            }
            break;
          case 0xc0:
          case 0xc1:
          case 0xd0:
          case 0xd1:
          case 0xd2:
          case 0xd3: {
            const s = op & 1 ? sz : 0;
            const v = rmr >= 0 ? getR(r, s, rmr) : rdS(m, s, ea);
            const cnt = op < 0xd0 ? buf[p++] : op < 0xd2 ? 1 : r[ECX] & 0xff;
            if ((cnt & 0x1f) !== 0) {
              // Shifts overwrite every arithmetic flag, rotates need them.
              const res = shiftRes(reg, s, v, cnt, reg >= 4 ? st.fl : getFlags(st));
              if (rmr >= 0) setR(r, s, rmr, res);
              else wrS(m, s, ea, res);
              st.fl = shiftOut.flags;
              st.lop = 0;
            }
            break;
          }
          case 0xc2:
          case 0xc3: {
            if (o16 || s16) {
              eip = retNear(st, sz * 2, op === 0xc2 ? buf[p] | (buf[p + 1] << 8) : 0);
              continue;
            }
            const sa = (r[ESP] + sb[SS]) | 0;
            let t: number;
            {
              const vpn = sa >>> 12;
              if (tagR[vpn] === key && (sa & 0xfff) <= 0xffc) {
                const hb = tb[vpn]!;
                const o = to[vpn] + (sa & 0xfff);
                t = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);
              } else t = rd32(m, sa);
            }
            if (o16) t &= 0xffff;
            let n = o16 ? 2 : 4;
            if (op === 0xc2) n += buf[p] | (buf[p + 1] << 8);
            r[ESP] = (r[ESP] + n) | 0;
            eip = t;
            continue;
          }
          case 0xc6:
          case 0xc7: {
            if (reg !== 0) ud(st);
            const s = op & 1 ? sz : 0;
            let v: number;
            if (s === 0) v = buf[p++];
            else if (s === 1) {
              v = buf[p] | (buf[p + 1] << 8);
              p += 2;
            } else {
              v = le32(buf, p);
              p += 4;
            }
            if (rmr >= 0) setR(r, s, rmr, v);
            else wrS(m, s, ea, v);
            break;
          }
          case 0xc9: {
            if (o16 || s16) {
              leave(st, sz * 2);
              break;
            }
            const v = rd32(m, (r[5] + sb[SS]) | 0);
            r[ESP] = (r[5] + 4) | 0;
            r[5] = v;
            break;
          }
          case 0xe0:
          case 0xe1:
          case 0xe2:
          case 0xe3: {
            const d = (buf[p++] << 24) >> 24;
            let c: number;
            if (op === 0xe3) c = a16 ? r[ECX] & 0xffff : r[ECX];
            else {
              c = a16 ? (r[ECX] - 1) & 0xffff : (r[ECX] - 1) | 0;
              setR(r, a16 ? 1 : 2, ECX, c);
            }
            let taken: boolean;
            if (op === 0xe3) taken = c === 0;
            else if (op === 0xe2) taken = c !== 0;
            else taken = c !== 0 && testCC(st, 4) === (op === 0xe1);
            if (taken) {
              eip = (start + (p - p0) + d) | 0;
              if (o16) eip &= 0xffff;
              continue;
            }
            break;
          }
          case 0xe8: {
            let d: number;
            if (o16) {
              d = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
              p += 2;
            } else {
              d = le32(buf, p);
              p += 4;
            }
            const next = (start + (p - p0)) | 0;
            if (o16 || s16) push(st, sz * 2, next);
            else {
              const esp = (r[ESP] - 4) | 0;
              const sa = (esp + sb[SS]) | 0;
              {
                const vpn = sa >>> 12;
                if (tagW[vpn] === key && (sa & 0xfff) <= 0xffc) {
                  const hb = tb[vpn]!;
                  const o = to[vpn] + (sa & 0xfff);
                  hb[o] = next;
                  hb[o + 1] = next >>> 8;
                  hb[o + 2] = next >>> 16;
                  hb[o + 3] = next >>> 24;
                } else wr32(m, sa, next);
              }
              r[ESP] = esp;
            }
            eip = (next + d) | 0;
            if (o16) eip &= 0xffff;
            continue;
          }
          case 0xe9:
          case 0xeb: {
            let d: number;
            if (op === 0xeb) d = (buf[p++] << 24) >> 24;
            else if (o16) {
              d = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
              p += 2;
            } else {
              d = le32(buf, p);
              p += 4;
            }
            eip = (start + (p - p0) + d) | 0;
            if (o16) eip &= 0xffff;
            continue;
          }
          case 0xf5:
            st.fl = getFlags(st) ^ 1;
            break;
          case 0xf6:
          case 0xf7: {
            const s = op & 1 ? sz : 0;
            const a = rmr >= 0 ? getR(r, s, rmr) : rdS(m, s, ea);
            switch (reg) {
              case 0:
              case 1: {
                let b: number;
                if (s === 0) b = buf[p++];
                else if (s === 1) {
                  b = buf[p] | (buf[p + 1] << 8);
                  p += 2;
                } else {
                  b = le32(buf, p);
                  p += 4;
                }
                st.lres = a & b;
                st.lop = (K_LOGIC << 2) | s;
                break;
              }
              case 2:
                if (rmr >= 0) setR(r, s, rmr, ~a);
                else wrS(m, s, ea, ~a);
                break;
              case 3: {
                const res = -a & MASK[s];
                if (rmr >= 0) setR(r, s, rmr, res);
                else wrS(m, s, ea, res);
                st.la = 0;
                st.lb = a;
                st.lres = res;
                st.lop = (K_SUB << 2) | s;
                break;
              }
              case 4:
              case 5:
                mulAcc(st, s, a, reg === 5);
                break;
              default:
                divAcc(st, s, a, reg === 7);
                break;
            }
            break;
          }
          case 0xf8:
            st.fl = getFlags(st) & ~1;
            break;
          case 0xf9:
            st.fl = getFlags(st) | 1;
            break;
          case 0xfc:
            st.fl &= ~0x400;
            break;
          case 0xfd:
            st.fl |= 0x400;
            break;
          case 0xfe:
          case 0xff: {
            const s = op === 0xff ? sz : 0;
            if (reg < 2) {
              const a = rmr >= 0 ? getR(r, s, rmr) : rdS(m, s, ea);
              const res = (reg === 0 ? a + 1 : a - 1) & MASK[s];
              if (rmr >= 0) setR(r, s, rmr, res);
              else wrS(m, s, ea, res);
              st.lb = getCF(st);
              st.la = a;
              st.lres = res;
              st.lop = ((reg === 0 ? K_INC : K_DEC) << 2) | s;
              break;
            }
            if (op === 0xfe) ud(st);
            if (reg === 2 || reg === 4 || reg === 6) {
              const v = rmr >= 0 ? getR(r, sz, rmr) : rdS(m, sz, ea);
              if (reg === 4) {
                eip = v;
                continue;
              }
              const pv = reg === 2 ? (start + (p - p0)) | 0 : v;
              if (o16 || s16) push(st, sz * 2, pv);
              else {
                const esp = (r[ESP] - 4) | 0;
                wr32(m, (esp + sb[SS]) | 0, pv);
                r[ESP] = esp;
              }
              if (reg === 2) {
                eip = v;
                continue;
              }
              break;
            }
            slow = true; // FF /3, /5 far CALL/JMP, FF /7 #UD
            break;
          }
          // ---- two-byte opcodes ----
          case 0x180:
          case 0x181:
          case 0x182:
          case 0x183:
          case 0x184:
          case 0x185:
          case 0x186:
          case 0x187:
          case 0x188:
          case 0x189:
          case 0x18a:
          case 0x18b:
          case 0x18c:
          case 0x18d:
          case 0x18e:
          case 0x18f: {
            let d: number;
            if (o16) {
              d = ((buf[p] | (buf[p + 1] << 8)) << 16) >> 16;
              p += 2;
            } else {
              d = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
              p += 4;
            }
            const lop = st.lop;
            if (
              (op & 0xe) === 4 && lop !== 0
                ? ((st.lres & MASK[lop & 3]) === 0) !== ((op & 1) === 1)
                : testCC(st, op & 15)
            ) {
              eip = (start + (p - p0) + d) | 0;
              if (o16) eip &= 0xffff;
              continue;
            }
            break;
          }
          case 0x190:
          case 0x191:
          case 0x192:
          case 0x193:
          case 0x194:
          case 0x195:
          case 0x196:
          case 0x197:
          case 0x198:
          case 0x199:
          case 0x19a:
          case 0x19b:
          case 0x19c:
          case 0x19d:
          case 0x19e:
          case 0x19f: {
            const v = testCC(st, op & 15) ? 1 : 0;
            if (rmr >= 0) setR(r, 0, rmr, v);
            else wr8(m, ea, v);
            break;
          }
          case 0x140:
          case 0x141:
          case 0x142:
          case 0x143:
          case 0x144:
          case 0x145:
          case 0x146:
          case 0x147:
          case 0x148:
          case 0x149:
          case 0x14a:
          case 0x14b:
          case 0x14c:
          case 0x14d:
          case 0x14e:
          case 0x14f: {
            const v = rmr >= 0 ? getR(r, sz, rmr) : rdS(m, sz, ea);
            if (testCC(st, op & 15)) setR(r, sz, reg, v);
            break;
          }
          case 0x1b6: {
            let v: number;
            if (rmr >= 0) v = rmr < 4 ? r[rmr] & 0xff : (r[rmr - 4] >> 8) & 0xff;
            else {
              const vpn = ea >>> 12;
              v = tagR[vpn] === key ? tb[vpn]![to[vpn] + (ea & 0xfff)] : rd8(m, ea);
            }
            if (sz === 2) r[reg] = v;
            else setR(r, sz, reg, v);
            break;
          }
          case 0x1b7:
            setR(r, sz, reg, rmr >= 0 ? getR(r, 1, rmr) : rdS(m, 1, ea));
            break;
          case 0x1be:
            setR(r, sz, reg, ((rmr >= 0 ? getR(r, 0, rmr) : rd8(m, ea)) << 24) >> 24);
            break;
          case 0x1bf:
            setR(r, sz, reg, ((rmr >= 0 ? getR(r, 1, rmr) : rdS(m, 1, ea)) << 16) >> 16);
            break;
          case 0x1af:
            setR(r, sz, reg, imulTrunc(st, sz, getR(r, sz, reg), rmr >= 0 ? getR(r, sz, rmr) : rdS(m, sz, ea)));
            break;
          case 0x1c8:
          case 0x1c9:
          case 0x1ca:
          case 0x1cb:
          case 0x1cc:
          case 0x1cd:
          case 0x1ce:
          case 0x1cf: {
            const v = r[op & 7];
            r[op & 7] = (v << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
            break;
          }
          case 0x11f:
            break;
          default:
            slow = true;
            break;
        }
        if (slow) {
          st.eip = start;
          st.ip0 = start;
          st.p0 = p0;
          st.count = count;
          const status = slowOp(st, op, buf, p, o16, a16, rep, seg, modrm, rmr, ea, off);
          eip = st.eip;
          csBase = sb[CS];
          d16 = st.code16;
          s16 = !fastStack(st);
          if (status !== STATUS_CONTINUE) {
            if (status === STATUS_EXIT) count--;
            st.count = count;
            return;
          }
          key = m.key;
          continue;
        }
        eip = (start + (p - p0)) | 0;
      }
      st.eip = eip;
      st.count = count;
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      // Faults report the EIP of the faulting instruction (§6.5). An instruction that exits did not
      // retire; one whose exception is delivered counts once, so a guest that faults in a loop (a
      // handler that faults again) still uses up its budget.
      st.eip = start;
      if (FAULT.kind === FAULT_EXIT) {
        st.count = count - 1;
        return;
      }
      st.count = count;
      deliverFault(st);
      if (st.exitReason >= 0) {
        count--;
        st.count = count;
        return;
      }
      eip = st.eip;
      csBase = sb[CS];
      d16 = st.code16;
      s16 = !fastStack(st);
      key = m.key;
    }
  }
}

/** 16-bit ModR/M addressing (Vol. 2 Table 2-1): returns the offset, sets st.dp and st.la16Seg. */
function ea16(st: CpuState, r: Int32Array, buf: Uint8Array, p: number, modrm: number): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  let off: number;
  st.la16Seg = rm === 2 || rm === 3 || (rm === 6 && mod !== 0) ? SS : DS;
  switch (rm) {
    case 0:
      off = r[3] + r[6];
      break;
    case 1:
      off = r[3] + r[7];
      break;
    case 2:
      off = r[5] + r[6];
      break;
    case 3:
      off = r[5] + r[7];
      break;
    case 4:
      off = r[6];
      break;
    case 5:
      off = r[7];
      break;
    case 6:
      if (mod === 0) {
        off = buf[p] | (buf[p + 1] << 8);
        p += 2;
      } else off = r[5];
      break;
    default:
      off = r[3];
      break;
  }
  if (mod === 1) off += (buf[p++] << 24) >> 24;
  else if (mod === 2) {
    off += buf[p] | (buf[p + 1] << 8);
    p += 2;
  }
  st.dp = p;
  return off & 0xffff;
}
