// Protection domain (NOVA specification §"Protection domain"): the unit of
// isolation, holding an object, a memory and an I/O port space.
import { KObject, ObjType } from "./capability.js";
import { CrdType } from "./crd.js";
import type { Space } from "./mdb.js";
import { MemorySpace } from "./memory-space.js";
import { ObjectSpace } from "./object-space.js";
import { PioSpace } from "./pio-space.js";

export class Pd extends KObject {
  readonly type = ObjType.PD;
  readonly obj: ObjectSpace;
  readonly mem = new MemorySpace();
  readonly pio = new PioSpace();
  /** UTCB page addresses in use by this PD's ECs (each must be unique). */
  readonly utcbs = new Set<number>();

  constructor(
    released: (obj: KObject) => void,
    /** For logs: "root", "vm0", "vmm0" ... */
    public name = "",
  ) {
    super();
    this.obj = new ObjectSpace(released);
  }

  /** The space a CRD of `type` names, or null for a null CRD. */
  space(type: number): Space | null {
    if (type === CrdType.OBJ) return this.obj;
    if (type === CrdType.MEM) return this.mem;
    if (type === CrdType.PIO) return this.pio;
    return null;
  }
}
