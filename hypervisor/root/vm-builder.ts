// The root task builds a VM the way a NOVA root task does, through
// hypercalls only: a PD for the VM and one for its VMM, a local handler EC in
// the VMM's PD, a vCPU EC in the VM's PD, one portal per exit reason
// delegated to the VM's PD at evt + reason, the VM's RAM delegated to both
// PDs, and an SC that makes the vCPU runnable. Any status but SUCCESS is a
// bug in the root task, reported with the hypercall that failed.

import { PORTAL_REASONS, portalMtd } from "../../proto/portal-mtd.js";
import { MemRights, OBJ_RIGHTS_ALL, ObjType } from "../kernel/capability.js";
import { memCrd, objCrd } from "../kernel/crd.js";
import type { Ec } from "../kernel/ec.js";
import { type Kernel, ROOT_PD_SEL } from "../kernel/hypercalls.js";
import type { Pd } from "../kernel/pd.js";
import { Status, statusName } from "../kernel/status.js";

/** Each VM's selectors in the root PD occupy one aligned block. */
const BLOCK = 0x1000;
const PORTALS = 0x100;
/** Event base of a vCPU in its VM's PD: portals at 0 .. 255. */
const EVT = 0;

/** A firmware ROM in host memory (host frames from `hpa`, `bytes` long): see mapFirmware. */
export interface FirmwareRom {
  hpa: number;
  bytes: number;
}

/** The ROM's last 128 KiB at most appear again just below 1 MiB (a PC chipset's reset decode of E0000H-FFFFFH). */
const ALIAS_END_PAGE = 0x100;
const ALIAS_MAX_PAGES = 32;
const TOP_PAGE = 0x10_0000;

export interface BuiltVm {
  vmPd: Pd;
  vmmPd: Pd;
  handler: Ec;
  vcpu: Ec;
}

function must(what: string, s: number): void {
  if (s !== Status.SUCCESS) throw new Error(`root task: ${what} failed with ${statusName(s)}`);
}

/** Power-of-two aligned chunks covering [base, base + pages), as CRDs need. */
export function alignedChunks(base: number, pages: number): { base: number; order: number }[] {
  const out: { base: number; order: number }[] = [];
  for (let p = base; p < base + pages; ) {
    let order = 0;
    while (p % 2 ** (order + 1) === 0 && p + 2 ** (order + 1) <= base + pages) order++;
    out.push({ base: p, order });
    p += 2 ** order;
  }
  return out;
}

export function buildVm(
  k: Kernel,
  index: number,
  ram: { hpa: number; pages: number },
  sched: { priority: number; quantum: number },
  /** Called with the VM's PD before its memory is delegated (to attach its EPT). */
  onVmPd: (pd: Pd) => void,
  /** A firmware ROM to map read/execute-only (it replaces the RAM of its low alias in the VM's view). */
  firmware?: FirmwareRom,
): BuiltVm {
  const root = k.rootEc;
  const sel = BLOCK * (index + 1);
  const [vmPdSel, vmmPdSel, handlerSel, vcpuSel, scSel] = [sel, sel + 1, sel + 2, sel + 3, sel + 4];
  must("create_pd (VM)", k.createPd(root, vmPdSel, ROOT_PD_SEL, undefined, `vm${index}`));
  must("create_pd (VMM)", k.createPd(root, vmmPdSel, ROOT_PD_SEL, undefined, `vmm${index}`));
  must("create_ec (VMM handler)", k.createEc(root, handlerSel, vmmPdSel, { kind: "local", cpu: 0, evt: 0 }));
  must("create_ec (vCPU)", k.createEc(root, vcpuSel, vmPdSel, { kind: "vcpu", cpu: 0, evt: EVT }));
  const vmPd = k.objectAt(root.pd, vmPdSel) as Pd;
  const vmmPd = k.objectAt(root.pd, vmmPdSel) as Pd;
  onVmPd(vmPd);
  for (const reason of PORTAL_REASONS) {
    const ptSel = sel + PORTALS + reason;
    must(`create_pt (reason ${reason})`, k.createPt(root, ptSel, vmmPdSel, handlerSel, portalMtd(reason), reason));
    must(`delegate portal ${reason}`, k.delegate(root.pd, objCrd(ptSel, 0, OBJ_RIGHTS_ALL), vmPd, EVT + reason));
  }
  // The root PD holds RAM at page numbers equal to its host frames; the VM
  // sees it from guest-physical 0, the VMM may read and write it too.
  const frame = ram.hpa / 4096;
  must("grant memory", k.grantMemory(ram.hpa, ram.pages, frame));
  const aliasPages = firmware ? Math.min(firmware.bytes / 4096, ALIAS_MAX_PAGES) : 0;
  for (const [start, end] of ramRuns(ram.pages, ALIAS_END_PAGE - aliasPages, ALIAS_END_PAGE)) {
    for (const c of alignedChunks(start, end - start)) {
      must("delegate RAM to VM", k.delegate(root.pd, memCrd(frame + c.base, c.order, MemRights.RWX), vmPd, c.base));
    }
  }
  if (firmware) mapFirmware(k, vmPd, firmware, aliasPages);
  for (const c of alignedChunks(0, ram.pages)) {
    must("delegate RAM to VMM", k.delegate(root.pd, memCrd(frame + c.base, c.order, MemRights.RW), vmmPd, c.base));
  }
  must("create_sc (vCPU)", k.createSc(root, scSel, vmPdSel, vcpuSel, sched));
  const handler = k.objectAt(root.pd, handlerSel) as Ec;
  const vcpu = k.objectAt(root.pd, vcpuSel) as Ec;
  if (handler?.type !== ObjType.EC || vcpu?.type !== ObjType.EC)
    throw new Error("root task: ECs not found after creation");
  return { vmPd, vmmPd, handler, vcpu };
}

/** RAM page runs [start, end) of `pages` pages without the hole [holeStart, holeEnd). */
function ramRuns(pages: number, holeStart: number, holeEnd: number): [number, number][] {
  if (holeStart >= holeEnd || holeStart >= pages) return [[0, pages]];
  const runs: [number, number][] = [];
  if (holeStart > 0) runs.push([0, holeStart]);
  if (holeEnd < pages) runs.push([holeEnd, pages]);
  return runs;
}

/**
 * Maps a firmware ROM into the VM read/execute-only, so a guest write is an
 * EPT violation the VMM drops (vmm/boot/firmware.ts): the whole ROM ending at
 * 4 GiB, where the reset vector FFFFFFF0H lies (SDM Vol. 3A §9.1.4), and its
 * last `aliasPages` pages again ending at 1 MiB.
 */
function mapFirmware(k: Kernel, vmPd: Pd, rom: FirmwareRom, aliasPages: number): void {
  const root = k.rootEc;
  const pages = rom.bytes / 4096;
  const frame = rom.hpa / 4096;
  must("grant firmware ROM", k.grantMemory(rom.hpa, pages, frame));
  const rx = MemRights.R | MemRights.X;
  for (const c of alignedChunks(0, pages)) {
    must(
      "delegate ROM to VM",
      k.delegate(root.pd, memCrd(frame + c.base, c.order, rx), vmPd, TOP_PAGE - pages + c.base),
    );
  }
  const first = pages - aliasPages;
  for (const c of alignedChunks(first, aliasPages)) {
    const at = ALIAS_END_PAGE - aliasPages + (c.base - first);
    must("delegate ROM alias to VM", k.delegate(root.pd, memCrd(frame + c.base, c.order, rx), vmPd, at));
  }
}
