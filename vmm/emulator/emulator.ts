// The VMM's instruction emulator (issue 4): for an access the EPT sent to
// the VMM, fetch the instruction at CS:EIP through the guest's segmentation
// and paging, decode it and carry it out against RAM and MMIO devices; for
// a string I/O exit, carry out the INS/OUTS the exit describes. One
// emulator per VM; every buffer and result record is allocated once here.
// The caller loads `regs` from the exit, calls step() or stringIo(), and
// writes back what changed (handlers.ts).
import type { GuestRam } from "../guest-ram.js";
import { hex } from "../hex.js";
import type { IoBus } from "../io-bus.js";
import { DECODE_NEED_MORE, DECODE_OK, DECODE_TOO_LONG, decode, INSN_BUFFER, Insn, MAX_INSN } from "./decoder.js";
import { EXEC_UNSUPPORTED, Executor } from "./executor.js";
import { ABORT_FAULT, EmulationAbort, Vector } from "./fault.js";
import { GuestPaging } from "./guest-paging.js";
import { GuestPhysical, type UnclaimedReport } from "./guest-physical.js";
import { GuestMemory, PhysicalSpan } from "./memory-access.js";
import { isExecutable, type MmioBus } from "./mmio-bus.js";
import { EMU_DONE, EMU_FAULT, EMU_STOP } from "./outcome.js";
import { CS, RegisterFile } from "./register-file.js";
import { ACCESS_EXEC, segmentLinear } from "./segments.js";
import { StringIo } from "./string-io.js";
import { DEFAULT_REP_LIMIT, StringOps } from "./string-ops.js";

export interface EmulatorOptions {
  /** REP iterations per exit (string-ops.ts). */
  repLimit?: number;
  /** Called once per page for the first access that hits neither RAM nor a device. */
  onUnclaimed?: UnclaimedReport;
}

export class InstructionEmulator {
  readonly regs = new RegisterFile();
  /** The fault or stop of the last step()/stringIo() that returned EMU_FAULT or EMU_STOP. */
  readonly abort = new EmulationAbort();
  /** The last decoded instruction. */
  readonly insn = new Insn();
  readonly phys: GuestPhysical;
  private readonly buf = new Uint8Array(INSN_BUFFER);
  /** Bytes fetched into buf for the last instruction. */
  private fetched = 0;
  private readonly fetchSpan = new PhysicalSpan();
  private readonly mem: GuestMemory;
  private readonly executor: Executor;
  private readonly io: StringIo;

  constructor(ram: GuestRam, mmio: MmioBus, bus: IoBus, options: EmulatorOptions = {}) {
    const repLimit = options.repLimit ?? DEFAULT_REP_LIMIT;
    this.phys = new GuestPhysical(ram, mmio, options.onUnclaimed ?? null);
    this.mem = new GuestMemory(this.regs, new GuestPaging(ram), this.phys, this.abort);
    const strings = new StringOps(this.regs, this.mem, repLimit);
    this.executor = new Executor(this.regs, this.mem, strings, this.abort);
    this.io = new StringIo(this.regs, this.mem, bus, this.abort, repLimit);
  }

  /** Emulates the instruction at CS:EIP: EMU_DONE (EIP advanced), EMU_REPEAT, EMU_FAULT or EMU_STOP. */
  step(): number {
    try {
      this.fetchDecode();
      const status = this.executor.execute(this.insn);
      if (status === EXEC_UNSUPPORTED) throw this.abort.stop(this.unsupported());
      if (status === EMU_DONE) this.advance(this.insn.len);
      return status;
    } catch (e) {
      return this.caught(e);
    }
  }

  /** Carries out the INS/OUTS of an I/O exit (qualification, instruction information, instruction length). */
  stringIo(qual: number, instInfo: number, instLen: number): number {
    try {
      const status = this.io.run(qual, instInfo);
      if (status === EMU_DONE) this.advance(instLen);
      return status;
    } catch (e) {
      return this.caught(e);
    }
  }

  private caught(e: unknown): number {
    if (e !== this.abort) throw e;
    return this.abort.kind === ABORT_FAULT ? EMU_FAULT : EMU_STOP;
  }

  /** EIP past the instruction; IP wraps at 64 KiB in 16-bit code. */
  private advance(len: number): void {
    const r = this.regs;
    r.eip = r.code32 ? (r.eip + len) >>> 0 : (r.eip + len) & 0xffff;
  }

  /** Fetches and decodes at CS:EIP, a page at a time, only as far as the instruction reaches. */
  private fetchDecode(): void {
    const buf = this.buf;
    buf.fill(0);
    let avail = 0;
    for (;;) {
      avail = this.fetch(avail);
      this.fetched = avail;
      const status = decode(this.insn, buf, avail, this.regs.code32);
      if (status === DECODE_OK) return;
      if (status === DECODE_NEED_MORE) continue;
      if (status === DECODE_TOO_LONG) throw this.abort.fault(Vector.GP, this.regs.protectedMode, 0);
      throw this.abort.stop(this.unsupported(status));
    }
  }

  /**
   * Appends the bytes from CS:EIP + `have` to the end of that page, the CS
   * limit or 15 bytes. A byte past the limit is #GP(0) (§5.3); code must be
   * in RAM or in a device that holds code (a ROM), not in a register file.
   */
  private fetch(have: number): number {
    const r = this.regs;
    const cs = r.seg[CS];
    const offset = r.code32 ? (r.eip + have) >>> 0 : (r.eip + have) & 0xffff;
    const linear = segmentLinear(r, CS, offset, 1, ACCESS_EXEC, this.abort);
    const n = Math.min(MAX_INSN - have, 0x1000 - (linear & 0xfff), cs.limit - offset + 1);
    this.mem.translateLinear(this.fetchSpan, linear, 1, ACCESS_EXEC);
    const gpa = this.fetchSpan.gpa0;
    if (this.phys.isRam(gpa, n)) {
      const ram = this.phys.ram.bytes;
      for (let k = 0; k < n; k++) this.buf[have + k] = ram[gpa + k];
      return have + n;
    }
    // Firmware runs from ROM (at 4 GiB, or in the PAM window): fetch through the device.
    const dev = this.phys.mmio.find(gpa);
    if (dev === null || !isExecutable(dev) || gpa - dev.base + n > dev.size) {
      throw this.abort.stop(`emulator: instruction at ${this.where()} is fetched from ${hex(gpa)}, which is not RAM`);
    }
    for (let k = 0; k < n; k++) this.buf[have + k] = dev.mmioRead(gpa - dev.base + k, 1);
    return have + n;
  }

  /** Names the opcode and the instruction's bytes: all of them once decoded, else the first 8 fetched (its length is unknown). */
  private unsupported(status = DECODE_OK): string {
    const i = this.insn;
    const op = i.op > 0xff ? `0x0f 0x${(i.op & 0xff).toString(16)}` : hex(i.op);
    const n = status === DECODE_OK ? i.len : Math.min(this.fetched, 8);
    const bytes = Array.from(this.buf.subarray(0, n), (b) => b.toString(16).padStart(2, "0"));
    return `emulator: unsupported instruction ${op} at ${this.where()} (bytes ${bytes.join(" ")})`;
  }

  private where(): string {
    return `${hex(this.regs.seg[CS].sel)}:${hex(this.regs.eip)}`;
  }
}
