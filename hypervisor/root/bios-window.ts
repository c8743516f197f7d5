// The root task's side of the 82441FX PAM window (VmmCall op SHADOW,
// proto/moat.proto): the VMM models the chipset's registers
// (devices/i440fx.ts) but the EPT is the kernel's, so the VMM asks, and the
// root task checks and maps. What a VMM may ask for, and nothing more:
//   - only whole pages inside C0000h-FFFFFh, the range the PAM registers
//     decode (Intel 82441FX datasheet, PAM0-PAM6 at 59h-5Fh);
//   - with rights: the VM's own RAM at the same guest-physical pages, with
//     rights that include R (an EPT entry writable or executable but not
//     readable is a misconfiguration, SDM Vol. 3C §28.2.3.1) and at most
//     R, W and X, which the root task gave the VM on its RAM in the first place;
//   - with rights 0: the PCI side of the chipset, which is the firmware ROM's
//     alias read/execute-only where the VM has one (vm-builder.ts mapFirmware),
//     and nothing elsewhere (an access becomes an EPT violation for the VMM).
// Whatever the VM held there before is taken away first (Kernel.unmap).
import { MemRights } from "../kernel/capability.js";
import { memCrd } from "../kernel/crd.js";
import type { Kernel } from "../kernel/hypercalls.js";
import type { Pd } from "../kernel/pd.js";
import { Status } from "../kernel/status.js";

/** Pages C0h-FFh: the PAM window. */
export const WINDOW_FIRST_PAGE = 0xc0;
export const WINDOW_END_PAGE = 0x100;
/** The ROM's last 128 KiB at most appear below 1 MiB (vm-builder.ts). */
const ALIAS_MAX_PAGES = 32;

export interface BiosWindowVm {
  vmPd: Pd;
  /** Host frame of the VM's guest-physical page 0 (the root PD holds RAM at page = frame), and its RAM size in pages. */
  ramFrame: number;
  ramPages: number;
  /** The firmware ROM's host frames (the root PD holds them at page = frame) and size, if the VM boots from one. */
  rom: { frame: number; pages: number } | null;
}

/** A SHADOW call as the VMM sent it (protobuf fields may be absent). */
export interface ShadowCall {
  gpa?: number | { toNumber(): number } | null;
  pages?: number | null;
  rights?: number | null;
}

/** Checks `call`; null if the VMM may make it. */
export function checkShadow(vm: BiosWindowVm, call: ShadowCall): string | null {
  const gpa = typeof call.gpa === "object" && call.gpa !== null ? call.gpa.toNumber() : (call.gpa ?? 0);
  const pages = call.pages ?? 0;
  const rights = call.rights ?? 0;
  const first = gpa / 4096;
  const range = `[0x${gpa.toString(16)}, 0x${(gpa + pages * 4096).toString(16)})`;
  if (!Number.isInteger(first) || !Number.isInteger(pages) || pages < 1) {
    return `BIOS window mapping of ${range}: not whole pages`;
  }
  if (first < WINDOW_FIRST_PAGE || first + pages > WINDOW_END_PAGE) {
    return `BIOS window mapping of ${range}: outside the PAM window [0xc0000, 0x100000)`;
  }
  if (!Number.isInteger(rights) || rights < 0 || rights > MemRights.RWX || (rights !== 0 && !(rights & MemRights.R))) {
    return `BIOS window mapping of ${range} with rights ${rights}: not 0 or readable R/W/X rights`;
  }
  if (rights !== 0 && first + pages > vm.ramPages) {
    return `BIOS window mapping of ${range} as RAM: the VM has only 0x${(vm.ramPages * 4096).toString(16)} bytes of RAM`;
  }
  return null;
}

/** Maps a checked call: the VM's pages lose what they held and get RAM with `rights`, or the ROM alias / nothing. */
export function commitShadow(k: Kernel, vm: BiosWindowVm, call: ShadowCall): string | null {
  const gpa = typeof call.gpa === "object" && call.gpa !== null ? call.gpa.toNumber() : (call.gpa ?? 0);
  const first = gpa / 4096;
  const pages = call.pages ?? 0;
  const rights = call.rights ?? 0;
  const rom = vm.rom;
  const aliasPages = rom ? Math.min(rom.pages, ALIAS_MAX_PAGES) : 0;
  const aliasFirst = WINDOW_END_PAGE - aliasPages;
  const root = k.rootEc.pd;
  for (let p = first; p < first + pages; p++) {
    const s = k.unmap(vm.vmPd, memCrd(p, 0, MemRights.RWX));
    if (s !== Status.SUCCESS) return `BIOS window: unmap of page 0x${p.toString(16)} failed with status ${s}`;
    // Host frames are not aligned alike, so page by page: a PAM write is rare, the window 64 pages at most.
    let from = -1;
    let r = rights;
    if (rights !== 0) from = vm.ramFrame + p;
    else if (rom && p >= aliasFirst) {
      from = rom.frame + rom.pages - aliasPages + (p - aliasFirst);
      r = MemRights.R | MemRights.X;
    }
    if (from < 0) continue;
    const d = k.delegate(root, memCrd(from, 0, r), vm.vmPd, p);
    if (d !== Status.SUCCESS) return `BIOS window: mapping page 0x${p.toString(16)} failed with status ${d}`;
  }
  return null;
}
