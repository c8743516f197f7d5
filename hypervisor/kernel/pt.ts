// Portal (NOVA specification §"Portal"): an entry into a local EC. Its MTD
// says which parts of the caller's state travel in the message (for a vCPU
// exit, which guest-state groups, DESIGN.md §3), `entry` where the handler
// starts, and `id` (set by pt_ctrl) lets one handler tell its portals apart.
import { KObject, ObjType } from "./capability.js";
import type { Ec } from "./ec.js";

export class Pt extends KObject {
  readonly type = ObjType.PT;
  id = 0;

  constructor(
    readonly ec: Ec,
    readonly mtd: number,
    readonly entry: number,
  ) {
    super();
  }
}
