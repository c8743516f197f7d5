// Execution context (NOVA specification §"Execution context"): a thread of
// execution in a PD. A local EC only runs as a portal handler, on its caller's
// time; a global EC has SCs of its own; a vCPU is a global EC that runs guest
// code under a VMCS, and sends each VM exit to the portal at evt + reason.

import type { Vmcs } from "../vmx/vmcs.js";
import { KObject, ObjType } from "./capability.js";
import type { Pd } from "./pd.js";
import type { Pt } from "./pt.js";
import type { Sc } from "./sc.js";
import type { Sm } from "./sm.js";
import { Status } from "./status.js";

export type EcKind = "local" | "global" | "vcpu";

/** ready: runnable or running. blocked: in sm down or an IPC call, its status
 * to come. dead: destroyed. */
export type EcState = "ready" | "blocked" | "dead";

export class Ec extends KObject {
  readonly type = ObjType.EC;
  /** Set by ec_ctrl: the vCPU exits with reason recall at the next boundary. */
  recallPending = false;
  /** Local EC: the root task's transport to the VMM worker serving its portals. */
  handler: unknown = null;
  readonly scs: Sc[] = [];

  state: EcState = "ready";
  /** Status of the last blocking hypercall, set when the EC is woken. */
  wakeStatus: number = Status.SUCCESS;
  /** Absolute deadline of the current block, 0 for none. */
  deadline = 0;
  /** What a blocked EC waits on: an SM, or the handler EC of its IPC call. */
  waitingOn: Sm | Ec | null = null;

  /** Local EC: the caller it serves now, and through which portal. */
  caller: Ec | null = null;
  callPt: Pt | null = null;
  /** Local EC: callers that found it busy, served in order. */
  readonly callQueue: { ec: Ec; pt: Pt }[] = [];

  constructor(
    readonly pd: Pd,
    readonly kind: EcKind,
    readonly cpu: number,
    /** Event base: selector of the portal for event 0 in pd's object space. */
    readonly evt: number,
    /** UTCB address (0 for none, always 0 for a vCPU). */
    readonly utcb: number,
    /** Initial stack pointer (global/local ECs). */
    readonly sp: number,
    /** vCPU only: its virtual-machine control structure. */
    readonly vmcs: Vmcs | null,
  ) {
    super();
  }

  /** Global ECs and vCPUs can have SCs; local ECs can be portal handlers. */
  get global(): boolean {
    return this.kind !== "local";
  }
}
