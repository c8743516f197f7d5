// System instructions and the instructions VMX non-root operation turns
// into VM exits (SDM Vol. 3C §25.1: "Instructions that cause VM exits
// unconditionally" and "conditionally", §25.3 for changed behaviour such as
// CR0/CR4 reads through the read shadows). Privilege checks that the SDM
// gives priority over the VM exit (§25.1.1) come first.
import * as F from "../vmx/vmcs-fields.js";
import { ioBreakpoints } from "./debug.js";
import { DB, gp, NO_ERROR, NP, raise, ud } from "./fault.js";
import { getFlags, IF, IOPL, VM } from "./flags.js";
import {
  dispOut,
  type Insn,
  imm8,
  insnExit,
  needMem,
  nextEip,
  operandInfo,
  readRM,
  STATUS_BOUNDARY,
  STATUS_CONTINUE,
  writeRM,
} from "./insn.js";
import { checkSeg } from "./limits.js";
import { rd8, rd16, rd32, wr16, wr32, wrS } from "./memory.js";
import { desc, readDescriptor, realSegs, setNull, setSeg } from "./segments.js";
import { pop, push } from "./stack.js";
import {
  AR_P,
  AR_S,
  type CpuState,
  CR0_CD,
  CR0_ET,
  CR0_NW,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR0_WP,
  CR4_DE,
  CR4_PAE,
  CR4_PCE,
  CR4_PGE,
  CR4_PSE,
  CR4_PVI,
  CR4_TSD,
  CR4_VME,
  DR6_BD,
  DR7_GD,
  DS,
  EAX,
  ECX,
  EDI,
  EDX,
  ES,
  ESI,
  LDTR,
  TR,
} from "./state.js";
import { v86FlagsMask, v86IoplCheck } from "./v86.js";

const R_CPUID = 10;
const R_HLT = 12;
const R_INVD = 13;
const R_INVLPG = 14;
const R_RDPMC = 15;
const R_RDTSC = 16;
const R_CR_ACCESS = 28;
const R_DR_ACCESS = 29;
const R_IO = 30;
const R_RDMSR = 31;
const R_WRMSR = 32;
const R_PAUSE = 40;
const R_GDTR_IDTR = 46;
const R_LDTR_TR = 47;
const R_WBINVD = 54;

/**
 * CR4 bits a P6-class processor with VMX implements (§2.5); others are reserved (#GP). VME and PVI
 * are reserved too: CPUID does not report VME (vmm/cpuid.ts) and V86 runs without it (v86.ts).
 */
const CR4_VALID = (0x1fff & ~0x800 & ~(CR4_VME | CR4_PVI)) | 0x2000;

function cpl0(st: CpuState): void {
  if (st.cpl !== 0) gp(st, 0);
}

export function cpuid(st: CpuState, i: Insn): number {
  return insnExit(st, i, R_CPUID, 0);
}

/** HLT (§25.1.3): exits with HLT exiting; otherwise the processor enters the HLT activity state. */
export function hlt(st: CpuState, i: Insn): number {
  cpl0(st);
  if (st.ctl.proc & F.CPU_HLT_EXITING) return insnExit(st, i, R_HLT, 0);
  st.activity = F.ACTIVITY_HLT;
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

export function invd(st: CpuState, i: Insn): number {
  cpl0(st);
  return insnExit(st, i, R_INVD, 0);
}

export function wbinvd(st: CpuState, i: Insn): number {
  cpl0(st);
  if (st.ctl.proc2 & F.SEC_WBINVD_EXITING) return insnExit(st, i, R_WBINVD, 0);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

export function pause(st: CpuState, i: Insn): number {
  if (st.ctl.proc & F.CPU_PAUSE_EXITING) return insnExit(st, i, R_PAUSE, 0);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** INVLPG: exit qualification is the linear address (Table 27-1). */
export function invlpg(st: CpuState, i: Insn): number {
  needMem(st, i);
  cpl0(st);
  if (st.ctl.proc & F.CPU_INVLPG_EXITING) return insnExit(st, i, R_INVLPG, i.ea);
  st.mem.flushPage(i.ea);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** The guest's TSC: the processor's virtual TSC (instructions retired before this one) plus TSC_OFFSET (§25.3). */
export function guestTsc(st: CpuState): number {
  const v = st.tscAtEntry + st.count - 1 + st.ctl.tscOffset;
  return v < 0 ? v + 2 ** 64 : v;
}

export function rdtsc(st: CpuState, i: Insn): number {
  if (st.cr4 & CR4_TSD && st.cpl !== 0) gp(st, 0);
  if (st.ctl.proc & F.CPU_RDTSC_EXITING) return insnExit(st, i, R_RDTSC, 0);
  const v = guestTsc(st);
  st.regs[EAX] = (v % 2 ** 32) | 0;
  st.regs[EDX] = Math.floor(v / 2 ** 32) | 0;
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

export function rdpmc(st: CpuState, i: Insn): number {
  if (st.ctl.proc & F.CPU_RDPMC_EXITING) return insnExit(st, i, R_RDPMC, 0);
  if (st.cpl !== 0 && !(st.cr4 & CR4_PCE)) gp(st, 0);
  if (st.regs[ECX] >>> 0 > 1) gp(st, 0);
  st.regs[EAX] = 0;
  st.regs[EDX] = 0;
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

// MSRs this processor implements itself (when the MSR bitmap lets an access through).
const MSR_TSC = 0x10;
const MSR_SYSENTER_CS = 0x174;
const MSR_SYSENTER_ESP = 0x175;
const MSR_SYSENTER_EIP = 0x176;

export function rdmsr(st: CpuState, i: Insn): number {
  cpl0(st);
  const msr = st.regs[ECX] >>> 0;
  if (st.ctl.msrExits(msr, false)) return insnExit(st, i, R_RDMSR, 0);
  let lo: number;
  let hi = 0;
  switch (msr) {
    case MSR_TSC: {
      const v = guestTsc(st);
      lo = (v % 2 ** 32) | 0;
      hi = Math.floor(v / 2 ** 32) | 0;
      break;
    }
    case MSR_SYSENTER_CS:
      lo = st.sysenterCs;
      break;
    case MSR_SYSENTER_ESP:
      lo = st.sysenterEsp;
      break;
    case MSR_SYSENTER_EIP:
      lo = st.sysenterEip;
      break;
    default:
      return gp(st, 0);
  }
  st.regs[EAX] = lo;
  st.regs[EDX] = hi;
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

export function wrmsr(st: CpuState, i: Insn): number {
  cpl0(st);
  const msr = st.regs[ECX] >>> 0;
  if (st.ctl.msrExits(msr, true)) return insnExit(st, i, R_WRMSR, 0);
  const lo = st.regs[EAX];
  switch (msr) {
    case MSR_SYSENTER_CS:
      st.sysenterCs = lo & 0xffff;
      break;
    case MSR_SYSENTER_ESP:
      st.sysenterEsp = lo;
      break;
    case MSR_SYSENTER_EIP:
      st.sysenterEip = lo;
      break;
    default:
      // Writing the TSC without an exit would change the host's counter: the VMM must intercept it.
      return gp(st, 0);
  }
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

// ---- control registers (§25.1.3 CR exiting, §25.3 reads through the read shadow) ----

/** CR0 as the guest reads it: bits owned by the host come from the read shadow. */
export function readCr0(st: CpuState): number {
  const m = st.ctl.cr0Mask;
  return (st.cr0 & ~m) | (st.ctl.cr0Shadow & m);
}

export function readCr4(st: CpuState): number {
  const m = st.ctl.cr4Mask;
  return (st.cr4 & ~m) | (st.ctl.cr4Shadow & m);
}

/** Table 27-3 qualification for MOV CR: CR number, access type, GPR. */
function crQual(cr: number, type: number, gpr: number): number {
  return cr | (type << 4) | (gpr << 8);
}

/** 0F 20 (MOV r32, CRn) and 0F 22 (MOV CRn, r32). */
export function movCr(st: CpuState, i: Insn): number {
  const cr = i.reg;
  const gpr = i.modrm & 7;
  if (cr === 1 || cr > 4) ud(st);
  cpl0(st);
  const ctl = st.ctl;
  if (i.op === 0x120) {
    let v: number;
    switch (cr) {
      case 0:
        v = readCr0(st);
        break;
      case 2:
        v = st.cr2;
        break;
      case 3:
        if (ctl.proc & F.CPU_CR3_STORE_EXITING) return insnExit(st, i, R_CR_ACCESS, crQual(3, 1, gpr));
        v = st.cr3;
        break;
      default:
        v = readCr4(st);
        break;
    }
    st.regs[gpr] = v;
    st.eip = nextEip(st, i);
    return STATUS_CONTINUE;
  }
  const v = st.regs[gpr];
  switch (cr) {
    case 0:
      if ((v ^ ctl.cr0Shadow) & ctl.cr0Mask) return insnExit(st, i, R_CR_ACCESS, crQual(0, 0, gpr));
      writeCr0(st, (v & ~ctl.cr0Mask) | (st.cr0 & ctl.cr0Mask));
      break;
    case 2:
      st.cr2 = v;
      break;
    case 3: {
      if (ctl.proc & F.CPU_CR3_LOAD_EXITING) {
        let target = false;
        for (let n = 0; n < ctl.cr3TargetCount; n++) if (ctl.cr3Targets[n] === v) target = true;
        if (!target) return insnExit(st, i, R_CR_ACCESS, crQual(3, 0, gpr));
      }
      st.cr3 = v;
      st.mem.flushNonGlobal();
      break;
    }
    default:
      if ((v ^ ctl.cr4Shadow) & ctl.cr4Mask) return insnExit(st, i, R_CR_ACCESS, crQual(4, 0, gpr));
      writeCr4(st, (v & ~ctl.cr4Mask) | (st.cr4 & ctl.cr4Mask));
      break;
  }
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

/** MOV to CR0 checks (Vol. 2 MOV CR: #GP for PG without PE, NW without CD) and TLB effects (§4.10.4.1). */
export function writeCr0(st: CpuState, v: number): void {
  if (v & CR0_PG && !(v & CR0_PE)) gp(st, 0);
  if (v & CR0_NW && !(v & CR0_CD)) gp(st, 0);
  v |= CR0_ET;
  if ((v ^ st.cr0) & (CR0_PG | CR0_WP | CR0_PE)) st.mem.flushVpid();
  st.cr0 = v;
}

export function writeCr4(st: CpuState, v: number): void {
  if (v & ~CR4_VALID) gp(st, 0);
  if ((v ^ st.cr4) & (CR4_PGE | CR4_PSE | CR4_PAE)) st.mem.flushVpid();
  st.cr4 = v;
}

/** CLTS (§25.1.3): exits if CR0.TS is host-owned and the shadow has TS set; a host-owned TS is not changed. */
export function clts(st: CpuState, i: Insn): number {
  cpl0(st);
  const ctl = st.ctl;
  if (ctl.cr0Mask & CR0_TS) {
    if (ctl.cr0Shadow & CR0_TS) return insnExit(st, i, R_CR_ACCESS, crQual(0, 2, 0));
  } else st.cr0 &= ~CR0_TS;
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** LMSW (§25.1.3): exit rules for PE and MP/EM/TS; qualification with source data and operand type. */
export function lmsw(st: CpuState, i: Insn): number {
  cpl0(st);
  const src = readRM(st, i, 1);
  const ctl = st.ctl;
  const mask = ctl.cr0Mask;
  const shadow = ctl.cr0Shadow;
  const peExit = mask & 1 && !(shadow & 1) && src & 1;
  if (peExit || (mask & 0xe & (src ^ shadow)) !== 0) {
    if (i.rmr < 0) st.exitLinear = i.ea >>> 0;
    return insnExit(st, i, R_CR_ACCESS, crQual(0, 3, 0) | (i.rmr < 0 ? 0x40 : 0) | (src << 16));
  }
  // LMSW changes only CR0 bits 3:0 the guest owns and cannot clear PE.
  const own = 0xf & ~mask;
  let v = (st.cr0 & ~own) | (src & own);
  if (st.cr0 & CR0_PE) v |= CR0_PE;
  writeCr0(st, v);
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

export function smsw(st: CpuState, i: Insn): number {
  const v = readCr0(st);
  if (i.rmr >= 0) writeRM(st, i, i.o16 ? 1 : 2, v);
  else wr16(st.mem, i.ea, v);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** 0F 21 (MOV r32, DRn) / 0F 23 (MOV DRn, r32); DR4/DR5 alias DR6/DR7 unless CR4.DE (§17.2.2). */
export function movDr(st: CpuState, i: Insn): number {
  let dr = i.reg;
  const gpr = i.modrm & 7;
  if (dr === 4 || dr === 5) {
    if (st.cr4 & CR4_DE) ud(st);
    dr += 2;
  }
  cpl0(st);
  const toDr = i.op === 0x123;
  if (st.ctl.proc & F.CPU_MOV_DR_EXITING) return insnExit(st, i, R_DR_ACCESS, i.reg | (toDr ? 0 : 0x10) | (gpr << 8));
  if (st.dr[7] & DR7_GD) {
    // General detect (§17.2.4): any MOV DR while DR7.GD = 1 is a #DB fault with DR6.BD.
    st.dbgPending = DR6_BD;
    raise(st, DB, NO_ERROR);
  }
  if (toDr) {
    let v = st.regs[gpr];
    if (dr === 6) v = (v & 0xe00f) | 0xffff0ff0;
    if (dr === 7) v = (v & ~0xd800) | 0x400;
    st.dr[dr] = v;
  } else st.regs[gpr] = dr === 6 ? (st.dr[6] & 0xe00f) | 0xffff0ff0 : st.dr[dr]; // §17.2.3: reserved DR6 bits read as 1 (FFFF0FF0H at reset)
  st.eip = nextEip(st, i);
  // A new DR7 may arm breakpoints: back to the processor loop, which steps under debug.ts when it does.
  return toDr ? STATUS_BOUNDARY : STATUS_CONTINUE;
}

// ---- descriptor tables (0F 00, 0F 01) ----

function descTableExiting(st: CpuState): boolean {
  return (st.ctl.proc2 & F.SEC_DESC_TABLE_EXITING) !== 0;
}

/** §25.1.3 descriptor-table exiting: exit 46/47 with the instruction information of Tables 27-10/27-11. */
function descTableExit(st: CpuState, i: Insn, reason: number, identity: number): number {
  const info = operandInfo(st, i) | (identity << 28) | (reason === R_GDTR_IDTR && !i.o16 ? 1 << 11 : 0);
  st.exitInsnInfo = info >>> 0;
  return insnExit(st, i, reason, i.rmr >= 0 ? 0 : dispOut.v);
}

/** 0F 01 /0-/3: SGDT, SIDT, LGDT, LIDT. */
export function descTable(st: CpuState, i: Insn): number {
  needMem(st, i);
  const n = i.reg;
  if (n >= 2) cpl0(st);
  if (descTableExiting(st)) return descTableExit(st, i, R_GDTR_IDTR, n);
  const m = st.mem;
  if (n >= 2) {
    const limit = rd16(m, i.ea);
    let base = rd32(m, (i.ea + 2) | 0);
    if (i.o16) base &= 0xffffff;
    if (n === 2) {
      st.gdtrBase = base;
      st.gdtrLimit = limit;
    } else {
      st.idtrBase = base;
      st.idtrLimit = limit;
    }
  } else {
    wr16(m, i.ea, n === 0 ? st.gdtrLimit : st.idtrLimit);
    wr32(m, (i.ea + 2) | 0, n === 0 ? st.gdtrBase : st.idtrBase);
  }
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** 0F 00 /0 SLDT, /1 STR, /2 LLDT, /3 LTR. */
export function ldtTr(st: CpuState, i: Insn): number {
  if (realSegs(st)) ud(st); // not recognized in real-address or virtual-8086 mode (Vol. 2 SLDT/STR/LLDT/LTR)
  const n = i.reg;
  if (n >= 2) cpl0(st);
  if (descTableExiting(st)) return descTableExit(st, i, R_LDTR_TR, n);
  if (n < 2) {
    const v = st.segSel[n === 0 ? LDTR : TR];
    if (i.rmr >= 0) writeRM(st, i, i.o16 ? 1 : 2, v);
    else wr16(st.mem, i.ea, v);
  } else {
    const sel = readRM(st, i, 1);
    if (n === 2) lldt(st, sel);
    else ltr(st, sel);
  }
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

function lldt(st: CpuState, sel: number): void {
  if ((sel & 0xfffc) === 0) {
    setNull(st, LDTR, sel);
    return;
  }
  if (sel & 4 || !readDescriptor(st, sel)) gp(st, sel & 0xfffc);
  if (desc.ar & AR_S || (desc.ar & 0xf) !== 2) gp(st, sel & 0xfffc);
  if (!(desc.ar & AR_P)) raise(st, NP, sel & 0xfffc);
  setSeg(st, LDTR, sel);
}

/** LTR: an available TSS in the GDT, marked busy (Vol. 2 LTR). */
function ltr(st: CpuState, sel: number): void {
  if ((sel & 0xfffc) === 0) gp(st, 0);
  if (sel & 4 || !readDescriptor(st, sel)) gp(st, sel & 0xfffc);
  const type = desc.ar & 0xf;
  if (desc.ar & AR_S || (type !== 9 && type !== 1)) gp(st, sel & 0xfffc);
  if (!(desc.ar & AR_P)) raise(st, NP, sel & 0xfffc);
  desc.hi |= 0x200;
  desc.ar |= 2;
  st.mem.writeSys((desc.addr + 4) | 0, 4, desc.hi);
  setSeg(st, TR, sel);
}

// ---- interrupt flag and EFLAGS (Vol. 2 CLI, STI, PUSHF, POPF; protected mode without VME) ----

function iopl(st: CpuState): number {
  return (st.fl >> 12) & 3;
}

export function cli(st: CpuState, i: Insn): number {
  if (st.cpl > iopl(st)) gp(st, 0);
  st.fl &= ~IF;
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

/** STI: interrupts stay blocked until the next instruction completes (STI blocking, §24.4.2). */
export function sti(st: CpuState, i: Insn): number {
  if (st.cpl > iopl(st)) gp(st, 0);
  if (!(st.fl & IF)) st.interruptibility |= F.INTERRUPTIBILITY_STI;
  st.fl |= IF;
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

export function pushf(st: CpuState, i: Insn): number {
  v86IoplCheck(st);
  const f = getFlags(st) & 0x00fcffff; // VM and RF read as 0 in the image
  push(st, i.o16 ? 2 : 4, f);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** EFLAGS bits POPF/IRET may change at the current privilege (Vol. 2 POPF, protected mode). */
export function flagsWritable(st: CpuState, o16: boolean): number {
  let mask = 0x244dd5; // CF PF AF ZF SF TF DF OF NT AC ID
  if (st.cpl === 0) mask |= IOPL;
  if (st.cpl <= iopl(st)) mask |= IF;
  return o16 ? mask & 0xffff : mask;
}

export function popf(st: CpuState, i: Insn): number {
  v86IoplCheck(st);
  const v = pop(st, i.o16 ? 2 : 4);
  if (st.fl & VM) {
    // Virtual-8086 mode, IOPL = 3: IOPL, VM, VIF, VIP and RF (0x10000) keep their values (Vol. 2 POPF).
    const vmask = v86FlagsMask(i.o16) & ~0x10000;
    st.fl = (getFlags(st) & ~vmask) | (v & vmask) | 2;
  } else {
    const mask = flagsWritable(st, i.o16);
    st.fl = (getFlags(st) & ~mask & ~0x10000) | (v & mask) | 2;
  }
  st.lop = 0;
  st.eip = nextEip(st, i);
  return STATUS_BOUNDARY;
}

// ---- I/O (§25.1.3 I/O exiting, Table 27-5; Vol. 1 §19.5 I/O permission bitmap) ----

/** CPL > IOPL: the TSS I/O permission bitmap must allow every port of the access, else #GP(0). */
function checkIoPermission(st: CpuState, port: number, size: number): void {
  // In virtual-8086 mode the bitmap is always consulted, whatever IOPL (§20.2.8.1).
  if (st.cpl <= iopl(st) && !(st.fl & VM)) return;
  const type = st.segAr[TR] & 0xf;
  const limit = st.segLimit[TR] >>> 0;
  if ((type !== 9 && type !== 11) || limit < 0x67) gp(st, 0);
  const tss = st.segBase[TR];
  const mapBase = st.mem.readSys((tss + 0x66) | 0, 2);
  const at = mapBase + (port >>> 3);
  if (at + 1 > limit) gp(st, 0);
  const bits = st.mem.readSys((tss + at) | 0, 2);
  if ((bits >>> (port & 7)) & ((1 << size) - 1)) gp(st, 0);
}

/** IN/OUT with imm8 or DX port, INS/OUTS with or without REP. */
export function io(st: CpuState, i: Insn): number {
  const op = i.op;
  const string = op >= 0x6c && op <= 0x6f;
  const imm = op === 0xe4 || op === 0xe5 || op === 0xe6 || op === 0xe7;
  const port = imm ? imm8(i) : st.regs[EDX] & 0xffff;
  const size = (op & 1) === 0 ? 1 : i.o16 ? 2 : 4;
  const input = string ? op <= 0x6d : (op & 2) === 0;
  checkIoPermission(st, port, size);
  if (st.ctl.ioExits(port, size)) {
    const qual =
      (size - 1) |
      (input ? 8 : 0) |
      (string ? 0x10 : 0) |
      (string && i.rep ? 0x20 : 0) |
      (imm ? 0x40 : 0) |
      (port << 16);
    if (string) {
      // Table 27-8: address size in 9:7, segment in 17:15 (OUTS: DS or the override; INS: ES).
      const seg = input ? ES : i.seg >= 0 ? i.seg : DS;
      st.exitInsnInfo = ((i.a16 ? 0 : 1) << 7) | (seg << 15);
      const off = input ? st.regs[EDI] : st.regs[ESI];
      // The element's segment-limit check comes before the exit (§25.1.1: operand faults have priority).
      if (!(i.rep && (i.a16 ? st.regs[ECX] & 0xffff : st.regs[ECX]) === 0))
        checkSeg(st, seg, i.a16 ? off & 0xffff : off, size);
      st.exitLinear = ((i.a16 ? off & 0xffff : off) + st.segBase[seg]) >>> 0;
    }
    return insnExit(st, i, R_IO, qual);
  }
  // Let through by the bitmaps: no device answers inside the processor (reads float high, writes vanish).
  // An I/O breakpoint on the port is a trap after the instruction (cpu/debug.ts, debugStep raises it).
  st.dbgPending |= ioBreakpoints(st, port, size);
  if (string) return stringIo(st, i, input, size);
  if (input) writeAcc(st, size, -1);
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

function writeAcc(st: CpuState, size: number, v: number): void {
  const r = st.regs;
  if (size === 4) r[EAX] = v;
  else if (size === 2) r[EAX] = (r[EAX] & ~0xffff) | (v & 0xffff);
  else r[EAX] = (r[EAX] & ~0xff) | (v & 0xff);
}

/** Iterations of a non-exiting REP INS/OUTS done at once; the instruction then restarts (like an interrupted REP). */
const IO_CHUNK = 4096;

function stringIo(st: CpuState, i: Insn, input: boolean, size: number): number {
  const r = st.regs;
  const delta = st.fl & 0x400 ? -size : size;
  const sreg = input ? EDI : ESI;
  const seg = input ? ES : i.seg >= 0 ? i.seg : DS;
  for (let n = 0; ; n++) {
    if (i.rep) {
      const c = i.a16 ? r[ECX] & 0xffff : r[ECX];
      if (c === 0) break;
      if (n === IO_CHUNK) return STATUS_CONTINUE; // EIP stays on the instruction
    }
    const off = i.a16 ? r[sreg] & 0xffff : r[sreg];
    checkSeg(st, seg, off, size);
    const lin = (off + st.segBase[seg]) | 0;
    if (input) wrS(st.mem, size >> 1, lin, -1);
    else rd8(st.mem, lin);
    const next = off + delta;
    r[sreg] = i.a16 ? (r[sreg] & ~0xffff) | (next & 0xffff) : next;
    if (!i.rep) break;
    r[ECX] = i.a16 ? (r[ECX] & ~0xffff) | ((r[ECX] - 1) & 0xffff) : r[ECX] - 1;
  }
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}
