// A virtual-machine control structure (SDM Vol. 3C ch. 24). Fields are
// read and written by their SDM encodings (vmcs-fields.ts), as VMREAD and
// VMWRITE do. The pages that real hardware names by physical address (I/O
// bitmaps A/B, MSR bitmap, the EPT) are held here as references to
// hypervisor-private objects; the address fields keep the other bits the
// SDM defines (for EPTP: memory type and page-walk length).
import type { Ept } from "../mmu/ept.js";

export class Vmcs {
  private readonly fields = new Map<number, number>();
  /** I/O bitmaps A (ports 0-7FFF) and B (8000-FFFF), one bit a port (§24.6.4). */
  readonly ioBitmap = new Uint8Array(8192);
  /** MSR bitmap: read-low, read-high, write-low, write-high, 1 KiB each (§24.6.9). */
  readonly msrBitmap = new Uint8Array(4096);
  /** The EPT paging structures the EPTP names (§24.6.11). */
  ept: Ept | null = null;
  /** Set by a successful VMLAUNCH, cleared by VMCLEAR (§24.11.3). */
  launched = false;

  read(field: number): number {
    return this.fields.get(field) ?? 0;
  }

  write(field: number, value: number): void {
    this.fields.set(field, value);
  }
}
