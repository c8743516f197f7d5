// The two ways a VM boots, each ending in the vCPU's initial state
// (vmm/boot/initial-state.ts) or a one-line error naming the problem:
// - Linux's 32-bit boot protocol, for a bzImage (vmm/boot/linux.ts);
// - Multiboot (Specification 0.6.96), for an ELF or flat image: loaded by
//   its Multiboot header's address fields when it has them, else as ELF or
//   flat; modules follow the image, page-aligned; EAX = 0x2BADB002 and EBX =
//   the boot information (§3.2) whenever the information could be written.
import type { IGuestState } from "../../proto/index.js";
import type { GuestRam } from "../guest-ram.js";
import { hex, sizeText } from "../hex.js";
import type { VmmBoot } from "../vmm-context.js";
import { loadElf } from "./elf.js";
import { loadFlat } from "./flat.js";
import { initialState } from "./initial-state.js";
import { BOOT_CS, BOOT_DS, BOOT_PARAMS_ADDRESS, loadLinux } from "./linux.js";
import type { LoadedRange, LoadResult } from "./loaded-image.js";
import { findMultibootHeader, loadByAddressFields } from "./multiboot-header.js";
import { type LoadedModule, MULTIBOOT_BOOTLOADER_MAGIC, writeMultibootInfo } from "./multiboot-info.js";

export type BootResult = { ok: true; state: IGuestState } | { ok: false; error: string };

const PAGE = 4096;

/** Loads what `boot` names into `ram` and returns the state to start the vCPU in. */
export function bootState(boot: VmmBoot, ram: GuestRam): BootResult {
  return boot.kernel ? bootLinux(boot, boot.kernel, ram) : bootMultiboot(boot, ram);
}

/** boot.rst "32-bit Boot Protocol": __BOOT_CS/__BOOT_DS flat, IF = 0, ESI = boot_params, EBP = EDI = EBX = 0. */
function bootLinux(boot: VmmBoot, kernel: Uint8Array, ram: GuestRam): BootResult {
  const linux = loadLinux(ram, kernel, boot.initrd, boot.cmdline ?? "");
  if (!linux.ok) return linux;
  const state = initialState({
    entry: linux.entry,
    esp: BOOT_PARAMS_ADDRESS,
    eax: 0,
    ebx: 0,
    esi: linux.bootParams,
    codeSel: BOOT_CS,
    dataSel: BOOT_DS,
    gdtr: { base: linux.gdtBase, limit: linux.gdtLimit },
    // No IDT yet: an exception before the kernel loads its own shuts the VM
    // down (triple fault) instead of running whatever RAM holds.
    idtr: { base: 0, limit: 0 },
  });
  return { ok: true, state };
}

function bootMultiboot(boot: VmmBoot, ram: GuestRam): BootResult {
  const found = findMultibootHeader(boot.image);
  if (!found.ok) return found;
  const header = found.header;
  let loaded: LoadResult;
  if (header?.addresses) loaded = loadByAddressFields(boot.image, header, ram);
  else if (boot.format === "elf") loaded = loadElf(boot.image, ram);
  else loaded = loadFlat(boot.image, ram, boot.loadAddress);
  if (!loaded.ok) return loaded;
  const entry = boot.entry ?? loaded.entry;
  if (!Number.isInteger(entry) || !ram.contains(entry, 1)) {
    return { ok: false, error: `boot: entry point ${hex(entry)} is outside guest RAM of ${sizeText(ram.size)}` };
  }
  const modules = loadModules(boot, loaded.ranges, ram);
  if (!Array.isArray(modules)) return modules;
  const mbi = writeMultibootInfo(ram, loaded.ranges, boot.cmdline, modules);
  if (!mbi.ok && (header !== null || modules.length > 0)) {
    return { ok: false, error: `multiboot: cannot write the boot information: ${mbi.reason}` };
  }
  const state = initialState({
    entry,
    esp: ram.size,
    eax: mbi.ok ? MULTIBOOT_BOOTLOADER_MAGIC : 0,
    ebx: mbi.ok ? mbi.ebx : 0,
  });
  return { ok: true, state };
}

/** Modules one after another from the first page above the image (§3.3: page-aligned when flags bit 0 asks; always here). */
function loadModules(boot: VmmBoot, ranges: readonly LoadedRange[], ram: GuestRam): LoadedModule[] | BootResult {
  const out: LoadedModule[] = [];
  let at = Math.ceil(Math.max(0, ...ranges.map((r) => r.start + r.length)) / PAGE) * PAGE;
  for (const [i, m] of (boot.modules ?? []).entries()) {
    if (!ram.contains(at, m.bytes.length)) {
      return {
        ok: false,
        error: `multiboot: module ${i} of ${m.bytes.length} bytes at ${hex(at)} exceeds guest RAM of ${sizeText(ram.size)}`,
      };
    }
    ram.write(at, m.bytes);
    out.push({ start: at, end: at + m.bytes.length, cmdline: m.cmdline ?? "" });
    at = Math.ceil((at + m.bytes.length) / PAGE) * PAGE;
  }
  return out;
}
