// What an exit handler works with: the VM's boot description, its RAM, its
// I/O bus and devices, and its MSRs. All of it belongs to this one VM.
import type { IVmExit } from "../proto/index.js";
import type { ConsoleBuffer } from "./console-buffer.js";
import type { GuestRam } from "./guest-ram.js";
import type { IoBus } from "./io-bus.js";
import type { MsrFile } from "./msr.js";
import type { ReplyBuilder } from "./reply.js";

export interface VmmBoot {
  /** VM id. */
  vm: number;
  /** The VM's RAM, guest-physical 0 .. ram.byteLength. */
  ram: SharedArrayBuffer;
  /** Guest image file bytes (read by the root task). */
  image: Uint8Array;
  /** ELF32 i386 executable, or a flat binary. */
  format: "elf" | "flat";
  /** For flat: where to load (default 0x100000); entry = loadAddress. */
  loadAddress?: number;
  /** Optional override of the entry point. */
  entry?: number;
  cmdline?: string;
}

export interface VmmContext {
  readonly boot: VmmBoot;
  readonly ram: GuestRam;
  readonly bus: IoBus;
  readonly msrs: MsrFile;
  readonly console: ConsoleBuffer;
}

/** Handles one exit: fills `reply` (state changes, injection or stop). */
export type ExitHandler = (exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext) => void;
