// The memory accesses of a task switch (SDM Vol. 3A §8.3): the GDT and LDT,
// the old and the new TSS, and the new task's stack for an error code, all at
// linear addresses translated by the guest's own paging (guest-paging.ts).
// Descriptor-table and TSS accesses are implicit supervisor-mode accesses
// whatever the CPL (§4.6); the error-code push is an ordinary access at the
// new task's CPL. A page fault becomes #PF with CR2 = the linear address
// (§4.7); memory that is not RAM, or page tables outside RAM, stop the VM
// with a reason naming what the switch was reading, never an exception.
import type { GuestRam } from "../guest-ram.js";
import { hex } from "../hex.js";
import { type EmulationAbort, Vector } from "./fault.js";
import { type GuestPaging, PAGE_FAULT, PAGE_USER, PAGE_WRITE } from "./guest-paging.js";

export class TaskMemory {
  /** The control registers translations use; CR3 changes when the new task's is loaded (§8.3 step 12). */
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;

  constructor(
    private readonly ram: GuestRam,
    private readonly paging: GuestPaging,
    private readonly abort: EmulationAbort,
  ) {}

  /** A supervisor read of `size` (1, 2 or 4) bytes at `linear`; `what` names it in a stop reason. */
  read(linear: number, size: number, what: string): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.ram.bytes[this.byteGpa(linear + i, 0, what)] << (8 * i);
    return v >>> 0;
  }

  /** A supervisor write, or a user-mode one with `user` (the error-code push at CPL 3). */
  write(linear: number, size: number, value: number, what: string, user = false): void {
    const access = PAGE_WRITE | (user ? PAGE_USER : 0);
    // Translate every byte before storing any: a fault leaves memory as it was.
    let gpa0 = -1;
    let gpaLast = -1;
    for (let i = 0; i < size; i++) {
      const gpa = this.byteGpa(linear + i, access, what);
      if (i === 0) gpa0 = gpa;
      gpaLast = gpa;
    }
    if (gpaLast === gpa0 + size - 1) {
      for (let i = 0; i < size; i++) this.ram.bytes[gpa0 + i] = (value >>> (8 * i)) & 0xff;
      return;
    }
    for (let i = 0; i < size; i++) this.ram.bytes[this.byteGpa(linear + i, access, what)] = (value >>> (8 * i)) & 0xff;
  }

  /**
   * Checks that [linear, linear + length) can be accessed (§8.3 step 5: the
   * TSSs and descriptors are "paged into system memory" before anything
   * changes), so a #PF is raised in the old task's context.
   */
  probe(linear: number, length: number, write: boolean, what: string): void {
    // Lengths here are at most a TSS's 104 bytes: the first and the last byte cover every page.
    const access = write ? PAGE_WRITE : 0;
    this.byteGpa(linear, access, what);
    this.byteGpa(linear + length - 1, access, what);
  }

  private byteGpa(linear: number, access: number, what: string): number {
    linear >>>= 0;
    const gpa = this.paging.translate(linear, access, this.cr0, this.cr3, this.cr4);
    if (gpa === PAGE_FAULT) throw this.abort.fault(Vector.PF, true, this.paging.errorCode, linear);
    if (gpa < 0) {
      throw this.abort.stop(
        `task switch: page table entry at guest-physical ${hex(this.paging.tableGpa)} for ${what} (linear ${hex(linear)}) is not in RAM`,
      );
    }
    if (!this.ram.contains(gpa, 1)) {
      throw this.abort.stop(
        `task switch: ${what} at linear ${hex(linear)} is at guest-physical ${hex(gpa)}, not in RAM`,
      );
    }
    return gpa;
  }
}
