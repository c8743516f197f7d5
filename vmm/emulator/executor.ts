// The semantics of the instructions a guest uses on MMIO (SDM Vol. 2 entry
// of each): MOV r/m<->reg, MOV moffs, MOV r/m,imm, MOVZX/MOVSX, the ALU
// group (ADD OR ADC SBB AND SUB XOR CMP) and TEST with a memory operand,
// XCHG, BT/BTS/BTR/BTC, and the string instructions (string-ops.ts). A
// memory operand is translated for its access (write for read-modify-write)
// before it is read, so a fault happens before any device sees anything.
// LOCK is #UD on anything but the read-modify-write forms with a memory
// destination (Vol. 2A "LOCK"); on one vCPU the locked forms need nothing
// more. Opcodes outside this set answer EXEC_UNSUPPORTED.
import type { MmioSize } from "../../devices/mmio-device.js";
import { Alu, CF, CMP, TEST } from "./alu.js";
import type { Insn } from "./decoder.js";
import { type EmulationAbort, Vector } from "./fault.js";
import { type GuestMemory, PhysicalSpan } from "./memory-access.js";
import { EMU_DONE } from "./outcome.js";
import { EAX, type RegisterFile } from "./register-file.js";
import { ACCESS_READ, ACCESS_WRITE } from "./segments.js";
import type { StringOps } from "./string-ops.js";

/** execute() answer for an opcode (or ModR/M /r) outside the emulator's set. */
export const EXEC_UNSUPPORTED = -1;

const MASK = [0, 0xff, 0xffff, 0, 0xffff_ffff];

export class Executor {
  private readonly span = new PhysicalSpan();
  private readonly alu = new Alu();

  constructor(
    private readonly regs: RegisterFile,
    private readonly mem: GuestMemory,
    private readonly strings: StringOps,
    private readonly abort: EmulationAbort,
  ) {}

  /** Carries out a decoded instruction: EMU_DONE, EMU_REPEAT or EXEC_UNSUPPORTED; throws faults and stops. */
  execute(i: Insn): number {
    const op = i.op;
    const osz: MmioSize = i.o16 ? 2 : 4;
    const wsz: MmioSize = op & 1 ? osz : 1;
    if (i.lock && !this.lockable(i)) throw this.abort.fault(Vector.UD, false, 0);
    if (op < 0x40 && (op & 7) < 4) return this.aluRm(i, op >>> 3, wsz, (op & 2) !== 0);
    switch (op) {
      case 0x80:
      case 0x82:
        return this.aluImm(i, 1, i.imm);
      case 0x81:
        return this.aluImm(i, osz, i.imm);
      case 0x83:
        return this.aluImm(i, osz, (i.imm << 24) >> 24);
      case 0x84:
      case 0x85:
        return this.aluRm(i, TEST, wsz, false);
      case 0x86:
      case 0x87:
        return this.xchg(i, wsz);
      case 0x88:
      case 0x89:
        return this.store(i, wsz, this.regs.reg(i.reg, wsz));
      case 0x8a:
      case 0x8b:
        this.regs.setReg(i.reg, wsz, this.load(i, wsz));
        return EMU_DONE;
      case 0xa0:
      case 0xa1:
        this.regs.setReg(EAX, wsz, this.load(i, wsz));
        return EMU_DONE;
      case 0xa2:
      case 0xa3:
        return this.store(i, wsz, this.regs.reg(EAX, wsz));
      case 0xa4:
      case 0xa5:
        return this.strings.movs(i, wsz);
      case 0xaa:
      case 0xab:
        return this.strings.stos(i, wsz);
      case 0xac:
      case 0xad:
        return this.strings.lods(i, wsz);
      case 0xc6:
      case 0xc7:
        return i.reg === 0 ? this.store(i, wsz, i.imm) : EXEC_UNSUPPORTED;
      case 0xf6:
      case 0xf7:
        return i.reg === 0 || i.reg === 1 ? this.testImm(i, wsz) : EXEC_UNSUPPORTED;
      case 0x1a3:
      case 0x1ab:
      case 0x1b3:
      case 0x1bb:
        return this.bitReg(i, (op >>> 3) & 3, osz);
      case 0x1ba:
        return i.reg >= 4 ? this.bitImm(i, i.reg & 3, osz) : EXEC_UNSUPPORTED;
      case 0x1b6:
      case 0x1b7:
      case 0x1be:
      case 0x1bf:
        return this.extend(i, op & 1 ? 2 : 1, (op & 8) !== 0, osz);
      default:
        return EXEC_UNSUPPORTED;
    }
  }

  /** SDM "LOCK": ADD ADC AND BTC BTR BTS OR SBB SUB XOR XCHG (and others outside this set), memory destination only. */
  private lockable(i: Insn): boolean {
    const op = i.op;
    if (!i.mem) return false;
    if (op < 0x40) return (op & 7) < 2 && op >>> 3 !== CMP;
    if (op >= 0x80 && op <= 0x83) return i.reg !== CMP;
    if (op === 0x86 || op === 0x87) return true;
    if (op === 0x1ab || op === 0x1b3 || op === 0x1bb) return true;
    return op === 0x1ba && i.reg >= 5;
  }

  /** The linear-address offset of the memory operand: base + index * scale + disp, wrapped to the address size. */
  effectiveAddress(i: Insn): number {
    const g = this.regs.gpr;
    let ea = i.disp;
    if (i.base >= 0) ea += g[i.base];
    if (i.index >= 0) ea += g[i.index] * (1 << i.scale);
    return i.a16 ? ea & 0xffff : ea >>> 0;
  }

  /** Translates the memory operand (at `ea`) for `access`; a no-op for a register operand. */
  private operand(i: Insn, size: MmioSize, access: number, ea = this.effectiveAddress(i)): void {
    if (i.mem) this.mem.translate(this.span, i.segment, ea, size, access);
  }

  /** Reads the r/m operand after operand(). */
  private readRm(i: Insn, size: MmioSize): number {
    return i.mem ? this.mem.read(this.span) : this.regs.reg(i.rm, size);
  }

  private writeRm(i: Insn, size: MmioSize, v: number): void {
    if (i.mem) this.mem.write(this.span, v & MASK[size]);
    else this.regs.setReg(i.rm, size, v);
  }

  private load(i: Insn, size: MmioSize): number {
    this.operand(i, size, ACCESS_READ);
    return this.readRm(i, size);
  }

  private store(i: Insn, size: MmioSize, v: number): number {
    this.operand(i, size, ACCESS_WRITE);
    this.writeRm(i, size, v);
    return EMU_DONE;
  }

  /** 00-3B: r/m OP= reg, or reg OP= r/m when `toReg` (the d bit). CMP and TEST write no result. */
  private aluRm(i: Insn, op: number, size: MmioSize, toReg: boolean): number {
    const r = this.regs;
    const writes = !toReg && op !== CMP && op !== TEST;
    this.operand(i, size, writes ? ACCESS_WRITE : ACCESS_READ);
    const m = this.readRm(i, size);
    const reg = r.reg(i.reg, size);
    const result = toReg ? this.alu.run(op, reg, m, size, r.eflags) : this.alu.run(op, m, reg, size, r.eflags);
    r.eflags = this.alu.flags;
    if (writes) this.writeRm(i, size, result);
    else if (toReg && op !== CMP) r.setReg(i.reg, size, result);
    return EMU_DONE;
  }

  /** 80-83: r/m OP= imm (83: imm8 sign-extended). */
  private aluImm(i: Insn, size: MmioSize, imm: number): number {
    const op = i.reg;
    this.operand(i, size, op === CMP ? ACCESS_READ : ACCESS_WRITE);
    const result = this.alu.run(op, this.readRm(i, size), imm, size, this.regs.eflags);
    this.regs.eflags = this.alu.flags;
    if (op !== CMP) this.writeRm(i, size, result);
    return EMU_DONE;
  }

  /** F6/F7 /0 (and the alias /1): TEST r/m, imm. */
  private testImm(i: Insn, size: MmioSize): number {
    this.operand(i, size, ACCESS_READ);
    this.alu.run(TEST, this.readRm(i, size), i.imm, size, this.regs.eflags);
    this.regs.eflags = this.alu.flags;
    return EMU_DONE;
  }

  /** 86/87: the memory operand is read and written in one step (and locked, SDM "XCHG"). */
  private xchg(i: Insn, size: MmioSize): number {
    this.operand(i, size, ACCESS_WRITE);
    const m = this.readRm(i, size);
    this.writeRm(i, size, this.regs.reg(i.reg, size));
    this.regs.setReg(i.reg, size, m);
    return EMU_DONE;
  }

  /** 0F B6/B7 MOVZX, 0F BE/BF MOVSX: a byte or word from r/m, zero- or sign-extended to the operand size. */
  private extend(i: Insn, from: MmioSize, signed: boolean, to: MmioSize): number {
    let v = this.load(i, from);
    if (signed) v = from === 1 ? (v << 24) >> 24 : (v << 16) >> 16;
    this.regs.setReg(i.reg, to, v & MASK[to]);
    return EMU_DONE;
  }

  /**
   * 0F A3/AB/B3/BB BT/BTS/BTR/BTC r/m, reg. With a memory operand the
   * register is a signed bit offset from the operand's address, reaching
   * other words (SDM "BT": EA + 2 * (offset SAR 4) or 4 * (offset SAR 5)).
   */
  private bitReg(i: Insn, kind: number, size: MmioSize): number {
    const raw = this.regs.reg(i.reg, size);
    const offset = size === 2 ? (raw << 16) >> 16 : raw | 0;
    const bits = size * 8;
    if (!i.mem) return this.bitOp(i, kind, size, offset & (bits - 1), 0);
    const delta = (offset >> (size === 2 ? 4 : 5)) * size;
    const ea = this.effectiveAddress(i) + delta;
    return this.bitOp(i, kind, size, offset & (bits - 1), i.a16 ? ea & 0xffff : ea >>> 0);
  }

  /** 0F BA /4-/7: the immediate bit offset is taken modulo the operand size. */
  private bitImm(i: Insn, kind: number, size: MmioSize): number {
    return this.bitOp(i, kind, size, i.imm & (size * 8 - 1), this.effectiveAddress(i));
  }

  /** kind 0 BT, 1 BTS, 2 BTR, 3 BTC. CF = the bit before; ZF is unaffected; OF SF AF PF undefined: kept (this model). */
  private bitOp(i: Insn, kind: number, size: MmioSize, bit: number, ea: number): number {
    this.operand(i, size, kind === 0 ? ACCESS_READ : ACCESS_WRITE, ea);
    const v = this.readRm(i, size);
    const mask = (1 << bit) >>> 0;
    const r = this.regs;
    r.eflags = ((r.eflags & ~CF) | (v & mask ? CF : 0)) >>> 0;
    if (kind === 0) return EMU_DONE;
    const nv = kind === 1 ? v | mask : kind === 2 ? v & ~mask : v ^ mask;
    this.writeRm(i, size, nv >>> 0);
    return EMU_DONE;
  }
}
