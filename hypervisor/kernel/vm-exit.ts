// Builds the VmExit message a portal sends to its VMM: exactly the state
// groups the portal's MTD names (DESIGN.md §2 step 4), read from the vCPU's
// VMCS and saved registers.
import { type IGuestState, type IVmExit, VmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import * as F from "../vmx/vmcs-fields.js";
import { GROUPS, type GuestContext, readField } from "./state-groups.js";

export interface ExitHeader {
  vm: number;
  vcpu: number;
  reason: number;
  mtd: number;
  tsc: number;
  seq: number;
  /** Console input carried to the VMM with this exit (VmExit.console_in). */
  consoleIn?: Uint8Array | null;
}

/** Guest state named by `mtd`, as a protobuf GuestState object. */
export function readGuestState(ctx: GuestContext, mtd: number): IGuestState {
  const state: Record<string, unknown> = {};
  for (const g of GROUPS) {
    if (!(mtd & g.mtd)) continue;
    for (const [key, f] of g.scalars ?? []) state[key] = readField(ctx, f);
    for (const [key, sel, base, limit, ar] of g.segments ?? []) {
      const v = ctx.vmcs;
      state[key] = { sel: v.read(sel), base: v.read(base), limit: v.read(limit), ar: v.read(ar) };
    }
    for (const [key, base, limit] of g.tables ?? []) {
      state[key] = { base: ctx.vmcs.read(base), limit: ctx.vmcs.read(limit) };
    }
  }
  if (mtd & Mtd.RIP_LEN) state.instLen = ctx.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN);
  if (mtd & Mtd.INJ) {
    state.idtVectInfo = ctx.vmcs.read(F.IDT_VECTORING_INFO_FIELD);
    state.idtVectError = ctx.vmcs.read(F.IDT_VECTORING_ERROR_CODE);
  }
  return state as IGuestState;
}

/** The VmExit object for one exit (not yet encoded). */
export function buildVmExit(ctx: GuestContext, h: ExitHeader): IVmExit {
  const v = ctx.vmcs;
  const exit: IVmExit = {
    vm: h.vm,
    vcpu: h.vcpu,
    reason: h.reason,
    mtd: h.mtd,
    seq: h.seq,
    state: readGuestState(ctx, h.mtd),
  };
  if (h.mtd & Mtd.QUAL) {
    exit.qual = v.read(F.EXIT_QUALIFICATION);
    exit.guestLinear = v.read(F.GUEST_LINEAR_ADDRESS);
    exit.guestPhysical = v.read(F.GUEST_PHYSICAL_ADDRESS);
    exit.instInfo = v.read(F.VMX_INSTRUCTION_INFO);
  }
  if (h.mtd & Mtd.RIP_LEN) exit.instLen = v.read(F.VM_EXIT_INSTRUCTION_LEN);
  if (h.mtd & Mtd.TSC) exit.tsc = h.tsc;
  if (h.consoleIn?.length) exit.consoleIn = h.consoleIn;
  return exit;
}

export function encodeVmExit(ctx: GuestContext, h: ExitHeader): Uint8Array {
  return VmExit.encode(buildVmExit(ctx, h)).finish();
}
