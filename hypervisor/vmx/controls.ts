// The VM-execution controls of the VMCS being run, copied into plain fields
// at VM entry so that instructions can test them without a VMCS lookup
// (SDM Vol. 3C §24.6). Only what VMX non-root operation consults is here.

import type { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

/** CR3-target value fields (§24.6.7, App. B.4.1): 0x6008 + 2n. */
export const CR3_TARGET_VALUE0 = 0x6008;

export class VmxControls {
  pin = 0;
  proc = 0;
  /** Secondary controls, 0 unless "activate secondary controls" is set (§24.6.2). */
  proc2 = 0;
  exceptionBitmap = 0;
  pfecMask = 0;
  pfecMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  cr3TargetCount = 0;
  readonly cr3Targets = [0, 0, 0, 0];
  tscOffset = 0;
  vpid = 0;
  ioBitmap: Uint8Array = new Uint8Array(8192);
  msrBitmap: Uint8Array = new Uint8Array(4096);

  load(vmcs: Vmcs): void {
    this.pin = vmcs.read(F.PIN_BASED_VM_EXEC_CONTROL);
    this.proc = vmcs.read(F.CPU_BASED_VM_EXEC_CONTROL);
    this.proc2 = this.proc & F.CPU_ACTIVATE_SECONDARY ? vmcs.read(F.SECONDARY_VM_EXEC_CONTROL) : 0;
    this.exceptionBitmap = vmcs.read(F.EXCEPTION_BITMAP);
    this.pfecMask = vmcs.read(F.PAGE_FAULT_ERROR_CODE_MASK);
    this.pfecMatch = vmcs.read(F.PAGE_FAULT_ERROR_CODE_MATCH);
    this.cr0Mask = vmcs.read(F.CR0_GUEST_HOST_MASK) | 0;
    this.cr0Shadow = vmcs.read(F.CR0_READ_SHADOW) | 0;
    this.cr4Mask = vmcs.read(F.CR4_GUEST_HOST_MASK) | 0;
    this.cr4Shadow = vmcs.read(F.CR4_READ_SHADOW) | 0;
    this.cr3TargetCount = Math.min(4, vmcs.read(F.CR3_TARGET_COUNT));
    for (let i = 0; i < 4; i++) this.cr3Targets[i] = vmcs.read(CR3_TARGET_VALUE0 + 2 * i) | 0;
    this.tscOffset = this.proc & F.CPU_USE_TSC_OFFSETTING ? vmcs.read(F.TSC_OFFSET) : 0;
    this.vpid = this.proc2 & F.SEC_ENABLE_VPID ? vmcs.read(F.VPID) & 0xffff : 0;
    this.ioBitmap = vmcs.ioBitmap;
    this.msrBitmap = vmcs.msrBitmap;
  }

  /** §25.1.3: does an I/O access of `size` bytes at `port` exit? */
  ioExits(port: number, size: number): boolean {
    if ((this.proc & F.CPU_USE_IO_BITMAPS) === 0) return (this.proc & F.CPU_UNCOND_IO_EXITING) !== 0;
    if (port + size > 0x10000) return true; // wraps around the port space
    for (let p = port; p < port + size; p++) {
      if ((this.ioBitmap[p >>> 3] >>> (p & 7)) & 1) return true;
    }
    return false;
  }

  /** §25.1.3: does RDMSR (write = false) or WRMSR of `msr` exit? */
  msrExits(msr: number, write: boolean): boolean {
    if ((this.proc & F.CPU_USE_MSR_BITMAPS) === 0) return true;
    msr >>>= 0;
    let base: number;
    if (msr <= 0x1fff) base = 0;
    else if (msr >= 0xc0000000 && msr <= 0xc0001fff) base = 1024;
    else return true;
    if (write) base += 2048;
    const bit = msr & 0x1fff;
    return ((this.msrBitmap[base + (bit >>> 3)] >>> (bit & 7)) & 1) !== 0;
  }

  /** §25.2 / §24.6.3: does exception `vector` (with #PF error code `pfec`) exit? */
  exceptionExits(vector: number, pfec: number): boolean {
    const bit = (this.exceptionBitmap >>> vector) & 1;
    if (vector !== 14) return bit !== 0;
    const match = (pfec & this.pfecMask) >>> 0 === this.pfecMatch >>> 0;
    return bit !== 0 ? match : !match;
  }
}
