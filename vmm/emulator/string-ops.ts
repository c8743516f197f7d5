// MOVS, STOS and LODS with and without REP (SDM Vol. 2B "MOVS", "STOS",
// "LODS", "REP/REPE/REPZ/REPNE/REPNZ"). The address size picks SI/DI/CX or
// ESI/EDI/ECX (16-bit forms keep the upper halves); EFLAGS.DF picks the
// direction. MOVS reads DS:ESI (or the override) and writes ES:EDI (never
// overridden, §3.7.5). A REP instruction runs at most `repLimit` iterations
// per exit and leaves ECX/ESI/EDI where it stopped with EIP on the
// instruction, exactly as an interrupted REP string instruction does, so the
// guest re-executes it and the next exit goes on: no exit runs unbounded.
// Each iteration checks both operands before touching either, so a fault
// leaves the registers at the last completed iteration (the SDM's
// interruption point).
import type { MmioSize } from "../../devices/mmio-device.js";
import type { Insn } from "./decoder.js";
import { type GuestMemory, PhysicalSpan } from "./memory-access.js";
import { EMU_DONE, EMU_REPEAT } from "./outcome.js";
import { EAX, ECX, EDI, EFLAGS_DF, ES, ESI, type RegisterFile } from "./register-file.js";
import { ACCESS_READ, ACCESS_WRITE } from "./segments.js";

/** Default iterations per exit: bounds an exit's work while a 4 KiB page of dwords still takes one exit. */
export const DEFAULT_REP_LIMIT = 1024;

const MOVS = 0;
const STOS = 1;
const LODS = 2;

export class StringOps {
  private readonly src = new PhysicalSpan();
  private readonly dst = new PhysicalSpan();

  constructor(
    private readonly regs: RegisterFile,
    private readonly mem: GuestMemory,
    readonly repLimit = DEFAULT_REP_LIMIT,
  ) {}

  /** A4/A5. */
  movs(i: Insn, size: MmioSize): number {
    return this.run(MOVS, i, size);
  }

  /** AA/AB. */
  stos(i: Insn, size: MmioSize): number {
    return this.run(STOS, i, size);
  }

  /** AC/AD. */
  lods(i: Insn, size: MmioSize): number {
    return this.run(LODS, i, size);
  }

  /** One iteration, or with a REP prefix (F3, or F2 which these instructions treat alike) up to repLimit. */
  private run(kind: number, i: Insn, size: MmioSize): number {
    if (i.rep === 0) {
      this.once(kind, i, size);
      return EMU_DONE;
    }
    const r = this.regs;
    for (let n = 0; n < this.repLimit; n++) {
      const count = indexReg(r, ECX, i.a16);
      if (count === 0) return EMU_DONE;
      this.once(kind, i, size);
      setIndexReg(r, ECX, i.a16, count - 1);
    }
    return indexReg(r, ECX, i.a16) === 0 ? EMU_DONE : EMU_REPEAT;
  }

  private once(kind: number, i: Insn, size: MmioSize): void {
    const r = this.regs;
    const mem = this.mem;
    const a16 = i.a16;
    if (kind === STOS) {
      mem.translate(this.dst, ES, indexReg(r, EDI, a16), size, ACCESS_WRITE);
      mem.write(this.dst, r.reg(EAX, size));
    } else if (kind === LODS) {
      mem.translate(this.src, i.segment, indexReg(r, ESI, a16), size, ACCESS_READ);
      r.setReg(EAX, size, mem.read(this.src));
    } else {
      mem.translate(this.src, i.segment, indexReg(r, ESI, a16), size, ACCESS_READ);
      mem.translate(this.dst, ES, indexReg(r, EDI, a16), size, ACCESS_WRITE);
      mem.write(this.dst, mem.read(this.src));
    }
    if (kind !== STOS) stepIndex(r, ESI, size, a16);
    if (kind !== LODS) stepIndex(r, EDI, size, a16);
  }
}

/** ESI/EDI/ECX, or SI/DI/CX with 16-bit addressing. */
export function indexReg(r: RegisterFile, reg: number, a16: boolean): number {
  return a16 ? r.gpr[reg] & 0xffff : r.gpr[reg];
}

/** Writes ESI/EDI/ECX, or only their low 16 bits with 16-bit addressing (wrapping within them). */
export function setIndexReg(r: RegisterFile, reg: number, a16: boolean, v: number): void {
  const g = r.gpr;
  g[reg] = a16 ? (g[reg] & 0xffff_0000) | (v & 0xffff) : v;
}

/** Moves an index register by the element size, backwards when DF = 1. */
export function stepIndex(r: RegisterFile, reg: number, size: number, a16: boolean): void {
  setIndexReg(r, reg, a16, indexReg(r, reg, a16) + (r.eflags & EFLAGS_DF ? -size : size));
}
