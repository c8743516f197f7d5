// A memory operand of an emulated instruction, from segment:offset to guest
// physical: segmentation (segments.ts), then the guest's paging
// (guest-paging.ts) with CPL 3 making it a user access (SDM §4.6), then
// RAM, device or nothing (guest-physical.ts). Translation is a separate
// step from the access so that an instruction checks every operand before
// it touches any device: a fault then leaves no half-done side effect
// (a device read is not repeatable).
import type { MmioSize } from "../../devices/mmio-device.js";
import { hex } from "../hex.js";
import type { EmulationAbort } from "./fault.js";
import { Vector } from "./fault.js";
import { type GuestPaging, PAGE_FAULT, PAGE_FETCH, PAGE_USER, PAGE_WRITE } from "./guest-paging.js";
import type { GuestPhysical } from "./guest-physical.js";
import type { RegisterFile } from "./register-file.js";
import { ACCESS_EXEC, ACCESS_WRITE, segmentLinear } from "./segments.js";

/** A translated operand: `len0` bytes at `gpa0`, the rest (if it crosses a page) at `gpa1`. */
export class PhysicalSpan {
  size: MmioSize = 1;
  gpa0 = 0;
  len0 = 0;
  gpa1 = 0;
}

export class GuestMemory {
  constructor(
    private readonly regs: RegisterFile,
    private readonly paging: GuestPaging,
    readonly phys: GuestPhysical,
    private readonly abort: EmulationAbort,
  ) {}

  /** Checks and translates `size` bytes at seg:offset for `access` (segments.ts ACCESS_*) into `out`; throws a fault. */
  translate(out: PhysicalSpan, seg: number, offset: number, size: MmioSize, access: number): void {
    const linear = segmentLinear(this.regs, seg, offset, size, access, this.abort);
    this.translateLinear(out, linear, size, access);
  }

  translateLinear(out: PhysicalSpan, linear: number, size: MmioSize, access: number): void {
    out.size = size;
    out.len0 = Math.min(size, 0x1000 - (linear & 0xfff));
    out.gpa0 = this.page(linear, access);
    if (out.len0 < size) out.gpa1 = this.page((linear + out.len0) >>> 0, access);
  }

  read(span: PhysicalSpan): number {
    if (span.len0 === span.size) return this.phys.read(span.gpa0, span.size);
    let v = 0;
    for (let i = 0; i < span.size; i++) v |= this.phys.read(byteGpa(span, i), 1) << (8 * i);
    return v >>> 0;
  }

  write(span: PhysicalSpan, value: number): void {
    if (span.len0 === span.size) {
      this.phys.write(span.gpa0, span.size, value);
      return;
    }
    for (let i = 0; i < span.size; i++) this.phys.write(byteGpa(span, i), 1, (value >>> (8 * i)) & 0xff);
  }

  /** The guest-physical address of one page's worth of `linear`; #PF with CR2 = linear (§4.7), or a stop. */
  private page(linear: number, access: number): number {
    const r = this.regs;
    let bits = access === ACCESS_WRITE ? PAGE_WRITE : access === ACCESS_EXEC ? PAGE_FETCH : 0;
    if (r.cpl === 3) bits |= PAGE_USER;
    const gpa = this.paging.translate(linear, bits, r.cr0, r.cr3, r.cr4);
    if (gpa >= 0) return gpa;
    if (gpa === PAGE_FAULT) throw this.abort.fault(Vector.PF, true, this.paging.errorCode, linear);
    throw this.abort.stop(
      `emulator: guest page table entry at ${hex(this.paging.tableGpa)} for linear ${hex(linear)} is not in RAM`,
    );
  }
}

function byteGpa(span: PhysicalSpan, i: number): number {
  return i < span.len0 ? span.gpa0 + i : span.gpa1 + (i - span.len0);
}
