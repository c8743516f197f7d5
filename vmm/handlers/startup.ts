// NOVA's startup event (254): the vCPU has never run. Load the image and
// answer with the initial state (vmm/boot/initial-state.ts). A bad image
// stops the VM with the loader's one-line error.
import type { IVmExit } from "../../proto/index.js";
import { loadElf } from "../boot/elf.js";
import { loadFlat } from "../boot/flat.js";
import { INITIAL_STATE_MTD, initialState } from "../boot/initial-state.js";
import type { LoadResult } from "../boot/loaded-image.js";
import { MULTIBOOT_BOOTLOADER_MAGIC, writeMultibootInfo } from "../boot/multiboot-info.js";
import { hex, sizeText } from "../hex.js";
import type { ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";

export function handleStartup(_exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  const { boot, ram } = vmm;
  const loaded: LoadResult =
    boot.format === "elf" ? loadElf(boot.image, ram) : loadFlat(boot.image, ram, boot.loadAddress);
  if (!loaded.ok) {
    reply.stop(loaded.error, 1);
    return;
  }
  const entry = boot.entry ?? loaded.entry;
  if (!Number.isInteger(entry) || !ram.contains(entry, 1)) {
    reply.stop(`boot: entry point ${hex(entry)} is outside guest RAM of ${sizeText(ram.size)}`, 1);
    return;
  }
  const mbi = writeMultibootInfo(ram, loaded.ranges, boot.cmdline);
  const state = initialState({
    entry,
    esp: ram.size,
    eax: mbi.ok ? MULTIBOOT_BOOTLOADER_MAGIC : 0,
    ebx: mbi.ok ? mbi.ebx : 0,
  });
  reply.setState(INITIAL_STATE_MTD, state);
}
