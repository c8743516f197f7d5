// Test support: an InstructionEmulator over a small RAM with a flat 32-bit
// ring-0 register state (paging off), and helpers to run one instruction.

import { GuestRam } from "../../guest-ram.js";
import { IoBus } from "../../io-bus.js";
import { type EmulatorOptions, InstructionEmulator } from "../emulator.js";
import { MmioBus } from "../mmio-bus.js";
import { CS, DS, ES, FS, GS, SS } from "../register-file.js";

/** VMCS access rights of flat 32-bit segments (SDM Table 24-2): code type 11, data type 3, S, P, D/B, G. */
export const FLAT_CODE_AR = 0xc09b;
export const FLAT_DATA_AR = 0xc093;

export interface FlatEmulator {
  emu: InstructionEmulator;
  ram: GuestRam;
  mmio: MmioBus;
  io: IoBus;
}

export function flatEmulator(ramBytes = 1 << 20, options: EmulatorOptions = {}): FlatEmulator {
  const ram = new GuestRam(new SharedArrayBuffer(ramBytes));
  const mmio = new MmioBus();
  const io = new IoBus();
  const emu = new InstructionEmulator(ram, mmio, io, options);
  resetFlat(emu);
  return { emu, ram, mmio, io };
}

/** CR0 = PE, flat segments, EFLAGS 0x2, GPRs 0. */
export function resetFlat(emu: InstructionEmulator): void {
  const r = emu.regs;
  r.gpr.fill(0);
  r.eflags = 0x2;
  r.cr0 = 1;
  r.cr2 = r.cr3 = r.cr4 = 0;
  for (const s of [ES, CS, SS, DS, FS, GS]) {
    Object.assign(r.seg[s], {
      sel: s === CS ? 8 : 0x10,
      base: 0,
      limit: 0xffff_ffff,
      ar: s === CS ? FLAT_CODE_AR : FLAT_DATA_AR,
    });
  }
}

/** Places `code` at `eip` and emulates it once. */
export function runAt(f: FlatEmulator, eip: number, code: Uint8Array): number {
  f.ram.bytes.set(code, eip);
  f.emu.regs.eip = eip;
  return f.emu.step();
}
