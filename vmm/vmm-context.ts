// What an exit handler works with: the VM's boot description, its RAM, its
// I/O and MMIO buses and devices, and its MSRs. All of it belongs to this one VM.
import type { IVmExit } from "../proto/index.js";
import type { ConsoleBuffer } from "./console-buffer.js";
import type { MmioBus } from "./emulator/mmio-bus.js";
import type { GuestRam } from "./guest-ram.js";
import type { IoBus } from "./io-bus.js";
import type { MsrFile } from "./msr.js";
import type { ReplyBuilder } from "./reply.js";

/** A Multiboot module (Multiboot Specification §3.3, flags bit 3): its bytes and its string. */
export interface BootModule {
  bytes: Uint8Array;
  cmdline?: string;
}

export interface VmmBoot {
  /** VM id. */
  vm: number;
  /** The VM's RAM, guest-physical 0 .. ram.byteLength. */
  ram: SharedArrayBuffer;
  /** Guest image file bytes (read by the root task); empty when `kernel` is given. */
  image: Uint8Array;
  /** ELF32 i386 executable, or a flat binary. */
  format: "elf" | "flat";
  /** For flat: where to load (default 0x100000); entry = loadAddress. */
  loadAddress?: number;
  /** Optional override of the entry point. */
  entry?: number;
  /** The kernel command line (Linux) or the Multiboot command line. */
  cmdline?: string;
  /** A Linux bzImage: booted with the 32-bit boot protocol instead of `image`. */
  kernel?: Uint8Array;
  /** The Linux initial ramdisk (with `kernel`). */
  initrd?: Uint8Array;
  /** Multiboot modules (with an ELF or flat `image`). */
  modules?: BootModule[];
  /** A firmware ROM (vmm/boot/firmware.ts): the vCPU starts at its reset vector; `image` is then empty. */
  firmware?: Uint8Array;
  /** The RTC's wall clock at virtual TSC 0, Unix seconds (default: vmm/platform.ts DEFAULT_EPOCH_SECONDS). */
  epochSeconds?: number;
}

export interface VmmContext {
  readonly boot: VmmBoot;
  readonly ram: GuestRam;
  readonly bus: IoBus;
  readonly mmio: MmioBus;
  readonly msrs: MsrFile;
  readonly console: ConsoleBuffer;
}

/** Handles one exit: fills `reply` (state changes, injection or stop). */
export type ExitHandler = (exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext) => void;
