// Out-of-line instruction handlers: everything the hot switch in
// interpreter.ts does not handle itself. One dispatch over the opcode; the
// handlers live in system.ts (privileged and VM-exiting instructions),
// control-transfer.ts (far transfers, INT, IRET), bit-ops.ts and here
// (less frequent integer instructions and segment-register moves).

import { INTERRUPTIBILITY_MOV_SS } from "../vmx/vmcs-fields.js";
import { aad, aam, asciiAdjust, bound, daa, das } from "./bcd.js";
import { bitOp, bitScan, cmpxchg, cmpxchg8b, doubleShiftOp, xadd } from "./bit-ops.js";
import { farRet, farTransfer, iret, softInt, sysenter } from "./control-transfer.js";
import { GP, raise, SS as SS_VEC, ud } from "./fault.js";
import { CF, getFlags, setFlags } from "./flags.js";
import {
  dispOut,
  Insn,
  imm8,
  imm16,
  insnExit,
  modrmPos,
  needMem,
  nextEip,
  operandInfo,
  readRM,
  STATUS_BOUNDARY,
  STATUS_CONTINUE,
  STATUS_EXIT,
  setR,
  writeRM,
} from "./insn.js";
import { checkSeg, outsideSeg } from "./limits.js";
import { rd8, rd16, rdS, wrS } from "./memory.js";
import { arpl, larLsl, verify } from "./pointer-validation.js";
import { loadDataSeg, realSegs } from "./segments.js";
import { getSp, pop, setSp, spPlus, stack32, stackRead, stackWrite } from "./stack.js";
import { type CpuState, CS, DS, EAX, EBP, EBX, ESP, SS } from "./state.js";
import * as sys from "./system.js";
import { fwait, x87 } from "./x87.js";

export { STATUS_BOUNDARY, STATUS_CONTINUE, STATUS_EXIT };

const insn = new Insn();

// VM exits of the VMX instructions (§25.1.2: unconditional in VMX non-root operation).
const R_VMCALL = 18;
const R_VMCLEAR = 19;
const R_VMLAUNCH = 20;
const R_VMPTRLD = 21;
const R_VMPTRST = 22;
const R_VMREAD = 23;
const R_VMRESUME = 24;
const R_VMWRITE = 25;
const R_VMXOFF = 26;
const R_VMXON = 27;
const R_INVEPT = 50;
const R_INVVPID = 53;

export function slowOp(
  st: CpuState,
  op: number,
  buf: Uint8Array,
  p: number,
  o16: boolean,
  a16: boolean,
  rep: number,
  seg: number,
  modrm: number,
  rmr: number,
  ea: number,
  off: number,
): number {
  const i = insn;
  i.op = op;
  i.buf = buf;
  i.p = p;
  i.o16 = o16;
  i.a16 = a16;
  i.rep = rep;
  i.seg = seg;
  i.modrm = modrm;
  i.reg = (modrm >> 3) & 7;
  i.rmr = rmr;
  i.ea = ea;
  i.off = off;
  const status = dispatch(st, i);
  return status;
}

function done(st: CpuState, i: Insn): number {
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

function dispatch(st: CpuState, i: Insn): number {
  const r = st.regs;
  switch (i.op) {
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e:
    case 0x1a0:
    case 0x1a8:
      return pushSeg(st, i, i.op < 0x100 ? i.op >> 3 : i.op === 0x1a0 ? 4 : 5);
    case 0x07:
    case 0x17:
    case 0x1f:
    case 0x1a1:
    case 0x1a9:
      return popSeg(st, i, i.op < 0x100 ? i.op >> 3 : i.op === 0x1a1 ? 4 : 5);
    case 0x27:
      daa(st);
      return done(st, i);
    case 0x2f:
      das(st);
      return done(st, i);
    case 0x37:
    case 0x3f:
      asciiAdjust(st, i.op === 0x3f);
      return done(st, i);
    case 0xd4:
      aam(st, imm8(i));
      return done(st, i);
    case 0xd5:
      aad(st, imm8(i));
      return done(st, i);
    case 0x63:
      return arpl(st, i);
    case 0x62:
      bound(st, i);
      return done(st, i);
    case 0x60:
      return pusha(st, i);
    case 0x61:
      return popa(st, i);
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f:
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7:
    case 0xec:
    case 0xed:
    case 0xee:
    case 0xef:
      return sys.io(st, i);
    case 0x8c: {
      if (i.reg > 5) ud(st);
      const v = st.segSel[i.reg];
      if (i.rmr >= 0) writeRM(st, i, i.o16 ? 1 : 2, v);
      else wrS(st.mem, 1, i.ea, v);
      return done(st, i);
    }
    case 0x8e: {
      if (i.reg === CS || i.reg > 5) ud(st);
      loadDataSeg(st, i.reg, readRM(st, i, 1));
      if (i.reg === SS) {
        // MOV SS blocks interrupts and debug traps until the next instruction completes (§6.8.3).
        st.interruptibility |= INTERRUPTIBILITY_MOV_SS;
        st.eip = nextEip(st, i);
        return STATUS_BOUNDARY;
      }
      return done(st, i);
    }
    case 0x8f: {
      if (i.reg !== 0) ud(st);
      const s = i.o16 ? 1 : 2;
      const esp0 = r[ESP];
      const v = pop(st, 2 * s);
      try {
        // POP r/m computes an ESP-based address after the increment (Vol. 2 POP).
        if (espBased(st, i)) wrS(st.mem, s, (i.ea + (r[ESP] - esp0)) | 0, v);
        else writeRM(st, i, s, v);
      } catch (e) {
        r[ESP] = esp0;
        throw e;
      }
      return done(st, i);
    }
    case 0x90:
      return sys.pause(st, i);
    case 0x9a:
      return farTransfer(st, i, true);
    case 0x9b:
      fwait(st);
      return done(st, i);
    case 0x9c:
      return sys.pushf(st, i);
    case 0x9d:
      return sys.popf(st, i);
    case 0x9e:
      setFlags(st, (r[EAX] >> 8) & 0xd5, 0xd5);
      return done(st, i);
    case 0x9f:
      r[EAX] = (r[EAX] & ~0xff00) | ((getFlags(st) & 0xd7) << 8) | 0x200;
      return done(st, i);
    case 0xc4:
    case 0xc5:
      return loadFarPointer(st, i, i.op === 0xc4 ? 0 : DS);
    case 0x1b2:
      return loadFarPointer(st, i, SS);
    case 0x1b4:
      return loadFarPointer(st, i, 4);
    case 0x1b5:
      return loadFarPointer(st, i, 5);
    case 0xc8:
      return enter(st, i);
    case 0xca:
    case 0xcb:
      return farRet(st, i);
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xf1:
      return softInt(st, i);
    case 0xcf:
      return iret(st, i);
    case 0xd6:
      r[EAX] = (r[EAX] & ~0xff) | (getFlags(st) & CF ? 0xff : 0);
      return done(st, i);
    case 0xd7: {
      // XLAT (Vol. 2): a byte at [E]BX + AL, limit-checked like any memory operand (SDM 5.3).
      const xs = i.seg < 0 ? DS : i.seg;
      const xo = i.a16 ? (r[EBX] + (r[EAX] & 0xff)) & 0xffff : (r[EBX] + (r[EAX] & 0xff)) >>> 0;
      checkSeg(st, xs, xo, 1);
      setR(r, 0, EAX, rd8(st.mem, (xo + st.segBase[xs]) | 0));
      return done(st, i);
    }
    case 0xd8:
    case 0xd9:
    case 0xda:
    case 0xdb:
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf:
      return x87(st, i);
    case 0xea:
      return farTransfer(st, i, false);
    case 0xf4:
      return sys.hlt(st, i);
    case 0xfa:
      return sys.cli(st, i);
    case 0xfb:
      return sys.sti(st, i);
    case 0xff:
      if (i.reg === 3 || i.reg === 5) return farTransfer(st, i, i.reg === 3);
      return ud(st);
    // ---- 0F xx ----
    case 0x100:
      if (i.reg < 4) return sys.ldtTr(st, i);
      if (i.reg < 6) return verify(st, i);
      return ud(st);
    case 0x102:
    case 0x103:
      return larLsl(st, i);
    case 0x101:
      return group7(st, i);
    case 0x106:
      return sys.clts(st, i);
    case 0x108:
      return sys.invd(st, i);
    case 0x109:
      return sys.wbinvd(st, i);
    case 0x10d:
    case 0x118:
    case 0x119:
    case 0x11a:
    case 0x11b:
    case 0x11c:
    case 0x11d:
    case 0x11e:
      return done(st, i);
    case 0x120:
    case 0x122:
      return sys.movCr(st, i);
    case 0x121:
    case 0x123:
      return sys.movDr(st, i);
    case 0x130:
      return sys.wrmsr(st, i);
    case 0x131:
      return sys.rdtsc(st, i);
    case 0x132:
      return sys.rdmsr(st, i);
    case 0x133:
      return sys.rdpmc(st, i);
    case 0x134:
    case 0x135:
      return sysenter(st, i.op === 0x134);
    case 0x138:
      return threeByte38(st, i);
    case 0x178:
      return vmxExit(st, i, R_VMREAD, true);
    case 0x179:
      return vmxExit(st, i, R_VMWRITE, true);
    case 0x1a2:
      return sys.cpuid(st, i);
    case 0x1a3:
    case 0x1ab:
    case 0x1b3:
    case 0x1bb:
    case 0x1ba:
      bitOp(st, i);
      return done(st, i);
    case 0x1a4:
    case 0x1a5:
    case 0x1ac:
    case 0x1ad:
      doubleShiftOp(st, i);
      return done(st, i);
    case 0x1b0:
    case 0x1b1:
      cmpxchg(st, i);
      return done(st, i);
    case 0x1bc:
    case 0x1bd:
      bitScan(st, i);
      return done(st, i);
    case 0x1c0:
    case 0x1c1:
      xadd(st, i);
      return done(st, i);
    case 0x1c7:
      return group9(st, i);
    default:
      return ud(st);
  }
}

/** 0F 01: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG; with mod = 3, VMCALL/VMLAUNCH/VMRESUME/VMXOFF. */
function group7(st: CpuState, i: Insn): number {
  if (i.rmr >= 0 && i.reg === 0) {
    switch (i.modrm) {
      case 0xc1:
        return insnExit(st, i, R_VMCALL, 0);
      case 0xc2:
        return insnExit(st, i, R_VMLAUNCH, 0);
      case 0xc3:
        return insnExit(st, i, R_VMRESUME, 0);
      case 0xc4:
        return insnExit(st, i, R_VMXOFF, 0);
    }
    return ud(st);
  }
  switch (i.reg) {
    case 0:
    case 1:
    case 2:
    case 3:
      return sys.descTable(st, i);
    case 4:
      return sys.smsw(st, i);
    case 6:
      return sys.lmsw(st, i);
    case 7:
      return sys.invlpg(st, i);
    default:
      return ud(st);
  }
}

/** 0F C7: /1 CMPXCHG8B, /6 VMPTRLD (66: VMCLEAR, F3: VMXON), /7 VMPTRST. */
function group9(st: CpuState, i: Insn): number {
  if (i.reg === 1) {
    cmpxchg8b(st, i);
    return done(st, i);
  }
  if (i.reg === 6 && i.rmr < 0) {
    if (i.rep === 1) return vmxExit(st, i, R_VMXON, false);
    return vmxExit(st, i, i.o16 ? R_VMCLEAR : R_VMPTRLD, false);
  }
  if (i.reg === 7 && i.rmr < 0) return vmxExit(st, i, R_VMPTRST, false);
  return ud(st);
}

/** 0F 38 xx: only INVEPT (66 0F 38 80) and INVVPID (66 0F 38 81) exist on this processor. */
function threeByte38(st: CpuState, i: Insn): number {
  const op3 = i.buf[i.p++];
  if ((op3 !== 0x80 && op3 !== 0x81) || !i.o16) return ud(st);
  decodeModrmSlow(st, i);
  needMem(st, i);
  return vmxExit(st, i, op3 === 0x80 ? R_INVEPT : R_INVVPID, true);
}

/** A VMX instruction in VMX non-root operation: VM exit with Tables 27-13/27-14 instruction information. */
function vmxExit(st: CpuState, i: Insn, reason: number, reg2: boolean): number {
  let info = operandInfo(st, i);
  if (reg2) info |= i.reg << 28;
  st.exitInsnInfo = info >>> 0;
  return insnExit(st, i, reason, i.rmr >= 0 ? 0 : dispOut.v);
}

/** ModR/M decoding for the few opcodes whose table entry has none (0F 38 xx): 32-bit addressing only. */
function decodeModrmSlow(st: CpuState, i: Insn): void {
  const b = i.buf;
  const modrm = b[i.p++];
  i.modrm = modrm;
  i.reg = (modrm >> 3) & 7;
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) {
    i.rmr = rm;
    return;
  }
  i.rmr = -1;
  const r = st.regs;
  let off: number;
  let dseg = DS;
  if (rm === 4) {
    const sib = b[i.p++];
    const base = sib & 7;
    const idx = (sib >> 3) & 7;
    if (base === 5 && mod === 0) {
      off = b[i.p] | (b[i.p + 1] << 8) | (b[i.p + 2] << 16) | (b[i.p + 3] << 24);
      i.p += 4;
    } else {
      off = r[base];
      if (base === 4 || base === 5) dseg = SS;
    }
    if (idx !== 4) off = (off + (r[idx] << (sib >> 6))) | 0;
  } else if (rm === 5 && mod === 0) {
    off = b[i.p] | (b[i.p + 1] << 8) | (b[i.p + 2] << 16) | (b[i.p + 3] << 24);
    i.p += 4;
  } else {
    off = r[rm];
    if (rm === 5) dseg = SS;
  }
  if (mod === 1) off = (off + ((b[i.p++] << 24) >> 24)) | 0;
  else if (mod === 2) {
    off = (off + (b[i.p] | (b[i.p + 1] << 8) | (b[i.p + 2] << 16) | (b[i.p + 3] << 24))) | 0;
    i.p += 4;
  }
  i.off = off;
  i.ea = (off + st.segBase[i.seg < 0 ? dseg : i.seg]) | 0;
}

/** A memory operand with ESP as SIB base (POP m then addresses with ESP after the pop). */
function espBased(st: CpuState, i: Insn): boolean {
  if (i.rmr >= 0 || i.a16 || (i.modrm & 7) !== 4) return false;
  return (i.buf[modrmPos(st, i) + 1] & 7) === 4;
}

function pushSeg(st: CpuState, i: Insn, sr: number): number {
  const w = i.o16 ? 2 : 4;
  const sp = spPlus(st, getSp(st), -w);
  // A 32-bit push of a segment register writes 16 bits and moves ESP by 4 (Vol. 2 PUSH, P6 behaviour).
  if (outsideSeg(st, SS, sp, w)) raise(st, SS_VEC, 0);
  wrS(st.mem, 1, (sp + st.segBase[SS]) | 0, st.segSel[sr]);
  setSp(st, sp);
  return done(st, i);
}

function popSeg(st: CpuState, i: Insn, sr: number): number {
  const w = i.o16 ? 2 : 4;
  const sp = getSp(st);
  const sel = stackRead(st, sp, w) & 0xffff;
  loadDataSeg(st, sr, sel);
  setSp(st, spPlus(st, sp, w));
  if (sr === SS) {
    st.interruptibility |= INTERRUPTIBILITY_MOV_SS;
    st.eip = nextEip(st, i);
    return STATUS_BOUNDARY;
  }
  return done(st, i);
}

/** PUSHA/PUSHAD: AX CX DX BX, the original SP, BP SI DI (Vol. 2 PUSHA); every slot checked before any is written. */
function pusha(st: CpuState, i: Insn): number {
  const r = st.regs;
  const w = i.o16 ? 2 : 4;
  const sp = getSp(st);
  for (let n = 1; n <= 8; n++) {
    // Real-address mode: a frame that wraps past the limit is #GP (Vol. 2 PUSHA "Real-Address Mode Exceptions").
    if (outsideSeg(st, SS, spPlus(st, sp, -n * w), w)) raise(st, realSegs(st) ? GP : SS_VEC, 0);
  }
  for (let n = 0; n < 8; n++) stackWrite(st, spPlus(st, sp, -(n + 1) * w), w, n === ESP ? r[ESP] : r[n]);
  setSp(st, spPlus(st, sp, -8 * w));
  return done(st, i);
}

/** POPA/POPAD: DI SI BP, skip SP, BX DX CX AX (Vol. 2 POPA); all slots read before a register changes. */
function popa(st: CpuState, i: Insn): number {
  const r = st.regs;
  const s = i.o16 ? 1 : 2;
  const w = i.o16 ? 2 : 4;
  const sp = getSp(st);
  const vals = popaVals;
  for (let n = 0; n < 8; n++) vals[7 - n] = stackRead(st, spPlus(st, sp, n * w), w);
  for (let n = 0; n < 8; n++) if (n !== ESP) setR(r, s, n, vals[n]);
  setSp(st, spPlus(st, sp, 8 * w));
  return done(st, i);
}
const popaVals = new Int32Array(8);

/** LES LDS LSS LFS LGS: offset then selector from memory (Vol. 2 LDS/LES/LFS/LGS/LSS). */
function loadFarPointer(st: CpuState, i: Insn, sr: number): number {
  needMem(st, i);
  const s = i.o16 ? 1 : 2;
  const off = rdS(st.mem, s, i.ea);
  const sel = rd16(st.mem, (i.ea + (s === 1 ? 2 : 4)) | 0);
  loadDataSeg(st, sr, sel);
  setR(st.regs, s, i.reg, off);
  if (sr === SS) {
    st.interruptibility |= INTERRUPTIBILITY_MOV_SS;
    st.eip = nextEip(st, i);
    return STATUS_BOUNDARY;
  }
  return done(st, i);
}

/**
 * ENTER imm16, imm8 (Vol. 2 ENTER, nesting level mod 32): push (E)BP,
 * copy level - 1 frame pointers from the old frame, push the new frame
 * pointer, then allocate. The stack-pointer width (SS.B) sizes the frame
 * arithmetic; registers change only at the end.
 */
function enter(st: CpuState, i: Insn): number {
  const size = imm16(i);
  const level = imm8(i) & 31;
  const r = st.regs;
  const s = i.o16 ? 1 : 2;
  const w = i.o16 ? 2 : 4;
  let sp = spPlus(st, getSp(st), -w);
  stackWrite(st, sp, w, r[EBP]);
  const frame = sp;
  let bp = stack32(st) ? r[EBP] >>> 0 : r[EBP] & 0xffff;
  for (let n = 1; n < level; n++) {
    bp = spPlus(st, bp, -w);
    const v = stackRead(st, bp, w);
    sp = spPlus(st, sp, -w);
    stackWrite(st, sp, w, v);
  }
  if (level > 0) {
    sp = spPlus(st, sp, -w);
    stackWrite(st, sp, w, frame);
  }
  setR(r, s, EBP, frame);
  setSp(st, spPlus(st, sp, -size));
  return done(st, i);
}
