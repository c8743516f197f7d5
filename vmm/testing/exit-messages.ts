// Test support: VmExit messages as the kernel would send them, encoded with
// proto/index.ts, and the decoded VmReply. Not imported by the VMM itself.
import { type IGuestState, type IVmExit, type IVmReply, VmExit, VmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { portalMtd } from "../../proto/portal-mtd.js";
import { Vmm, type VmmBoot } from "../vmm.js";

/** Flat 32-bit ring-0 guest state, as after startup. */
export function ring0State(extra: IGuestState = {}): IGuestState {
  return {
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
    eip: 0x10_0000,
    eflags: 0x2,
    cs: { sel: 0x08, base: 0, limit: 0xffff_ffff, ar: 0xc09b },
    ss: { sel: 0x10, base: 0, limit: 0xffff_ffff, ar: 0xc093 },
    sysenterCs: 0,
    sysenterEsp: 0,
    sysenterEip: 0,
    intrState: 0,
    actvState: 0,
    ...extra,
  };
}

/** An exit of `reason` with the portal MTD the VMM asks for, encoded. */
export function encodeExit(reason: number, fields: Omit<IVmExit, "reason"> = {}): Uint8Array {
  const msg: IVmExit = { vm: 1, vcpu: 0, reason, mtd: portalMtd(reason) | Mtd.TSC, seq: 1, ...fields };
  return VmExit.encode(msg).finish();
}

/** Sends one exit through Vmm.handle and decodes the reply. */
export function roundTrip(vmm: Vmm, reason: number, fields: Omit<IVmExit, "reason"> = {}): IVmReply {
  return VmReply.toObject(VmReply.decode(vmm.handle(encodeExit(reason, fields))), { defaults: true });
}

/** A VMM with `ramBytes` of RAM and the given image. */
export function makeVmm(ramBytes = 16 << 20, boot: Partial<VmmBoot> = {}): Vmm {
  return new Vmm({ vm: 1, ram: new SharedArrayBuffer(ramBytes), image: new Uint8Array(0), format: "flat", ...boot });
}
