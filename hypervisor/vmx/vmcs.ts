// A virtual-machine control structure (SDM Vol. 3C ch. 24). Fields are
// read and written by their SDM encodings (vmcs-fields.ts), as VMREAD and
// VMWRITE do. The pages that real hardware names by physical address (I/O
// bitmaps A/B, MSR bitmap, the EPT) are held here as references to
// hypervisor-private objects; the address fields keep the other bits the
// SDM defines (for EPTP: memory type and page-walk length).
import type { Ept } from "../mmu/ept.js";

/** Slot of an encoding (SDM App. B.0: bits 14:13 width, 11:10 type, 9:1
 * index; bit 0 "high" access of 64-bit fields is not used by IA-32 guests). */
const slot = (field: number): number =>
  (((field >>> 13) & 3) << 11) | (((field >>> 10) & 3) << 9) | ((field >>> 1) & 0x1ff);

export class Vmcs {
  /** Every field's value, at slot(encoding): exits touch dozens of fields,
   * so this is a flat array rather than a map. */
  private readonly fields = new Float64Array(1 << 13);
  /** I/O bitmaps A (ports 0-7FFF) and B (8000-FFFF), one bit a port (§24.6.4). */
  readonly ioBitmap = new Uint8Array(8192);
  /** MSR bitmap: read-low, read-high, write-low, write-high, 1 KiB each (§24.6.9). */
  readonly msrBitmap = new Uint8Array(4096);
  /** The EPT paging structures the EPTP names (§24.6.11). */
  ept: Ept | null = null;
  /** Set by a successful VMLAUNCH, cleared by VMCLEAR (§24.11.3). */
  launched = false;

  read(field: number): number {
    return this.fields[slot(field)];
  }

  write(field: number, value: number): void {
    this.fields[slot(field)] = value;
  }
}
