// Booting from a firmware ROM, as a PC does at power-on. The root task maps
// the ROM read/execute-only at the top of the 4 GiB space and its last
// 128 KiB (all of it if smaller) at E0000H-FFFFFH below 1 MiB, where a PC's
// chipset decodes the BIOS at reset (hypervisor/root/vm-builder.ts). The VMM
// side: the ROM's bytes for the instruction emulator (an MMIO device at the
// top), the processor state after reset (SDM Vol. 3A §9.1.1 Table 9-1, first
// instruction fetched at FFFFFFF0H, §9.1.4), and the 82441FX's PAM window
// C0000H-FFFFFH: per segment, reads from DRAM or from the PCI side (the ROM's
// alias, or nothing), writes to DRAM or dropped (devices/i440fx.ts). The
// VMM's view of that RAM range is the shadow DRAM itself; the kernel maps the
// VM's view of each segment to match (VmmCall op SHADOW, hypervisor/root/bios-window.ts):
// DRAM read/write/execute when RE and WE, read/execute when RE only, else the
// ROM alias or nothing, so that only writes to read-only segments, and any
// access to DRAM-less segments without ROM, reach this VMM as EPT violations.

import {
  type I440fxPmc,
  PAM_RE,
  PAM_SEGMENTS,
  PAM_WE,
  PAM_WINDOW_BASE,
  PAM_WINDOW_END,
  pamSegmentAt,
} from "../../devices/i440fx.js";
import type { MmioDevice, MmioSize } from "../../devices/mmio-device.js";
import type { IGuestState, IVmmCall } from "../../proto/index.js";
import { CPU_SIGNATURE } from "../cpuid.js";
import type { MmioBus } from "../emulator/mmio-bus.js";
import type { GuestRam } from "../guest-ram.js";

/** End of the low alias: the ROM's top byte also appears at FFFFFH. */
export const ROM_ALIAS_END = 0x10_0000;
/** At most this much of the ROM is aliased below 1 MiB (the E and F segments). */
export const ROM_ALIAS_MAX = 128 * 1024;
const GPA_TOP = 2 ** 32;

/** VmmCall op: set the VM's mapping of part of the PAM window (moat.proto VmmCall). */
export const VMM_CALL_SHADOW = 3;
/** EPT rights (MemRights: R 1, W 2, X 4). */
const R = 1;
const W = 2;
const X = 4;

/** Where the ROM of `size` bytes appears: its base below 4 GiB and the low alias. */
export function romLayout(size: number): { topBase: number; aliasBase: number; aliasSize: number } {
  const aliasSize = Math.min(size, ROM_ALIAS_MAX);
  return { topBase: GPA_TOP - size, aliasBase: ROM_ALIAS_END - aliasSize, aliasSize };
}

/** The ROM at the top of the guest-physical space: reads return its bytes, writes are ignored; code runs from it. */
export class RomDevice implements MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly executable = true;

  constructor(private readonly bytes: Uint8Array) {
    this.base = GPA_TOP - bytes.length;
    this.size = bytes.length;
    this.name = `rom@0x${this.base.toString(16)}`;
  }

  mmioRead(offset: number, size: MmioSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.bytes[offset + i] << (8 * i);
    return v >>> 0;
  }

  mmioWrite(_offset: number, _size: MmioSize, _value: number): void {
    // A ROM: the write cycle changes nothing.
  }
}

/**
 * C0000H-FFFFFH as the 82441FX decodes it, per PAM segment: a read with RE
 * set comes from DRAM (the VMM's RAM), else from the PCI side, where the
 * ROM's alias answers in its range and nothing (all ones) elsewhere; a write
 * with WE set goes to DRAM, else to the PCI side, where nothing keeps it.
 * Placed over RAM on the MMIO bus (MmioBus.attachOverRam), so that the
 * emulator sees what the guest sees.
 */
export class BiosWindow implements MmioDevice {
  readonly name = "pam-window@0xc0000";
  readonly base = PAM_WINDOW_BASE;
  readonly size = PAM_WINDOW_END - PAM_WINDOW_BASE;
  readonly executable = true;
  private readonly aliasBase: number;
  private readonly aliasFrom: number;

  constructor(
    private readonly rom: Uint8Array,
    private readonly ram: GuestRam,
    private readonly pmc: I440fxPmc,
  ) {
    const { aliasBase, aliasSize } = romLayout(rom.length);
    this.aliasBase = aliasBase;
    this.aliasFrom = rom.length - aliasSize;
  }

  mmioRead(offset: number, size: MmioSize): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.readByte(offset + i) << (8 * i);
    return v >>> 0;
  }

  mmioWrite(offset: number, size: MmioSize, value: number): void {
    for (let i = 0; i < size; i++) {
      const gpa = this.base + offset + i;
      if (this.pmc.pamMode(pamSegmentAt(offset + i)) & PAM_WE && this.ram.contains(gpa, 1)) {
        this.ram.bytes[gpa] = value >>> (8 * i);
      }
    }
  }

  private readByte(offset: number): number {
    const gpa = this.base + offset;
    if (this.pmc.pamMode(pamSegmentAt(offset)) & PAM_RE) return this.ram.contains(gpa, 1) ? this.ram.bytes[gpa] : 0xff;
    return gpa >= this.aliasBase ? this.rom[this.aliasFrom + gpa - this.aliasBase] : 0xff;
  }
}

/**
 * The mapping the kernel must give the VM for the PAM window as the PMC's
 * registers now say, as SHADOW calls, adjacent segments with the same rights
 * merged: RE and WE: DRAM RWX; RE only: DRAM RX (a write faults to the VMM,
 * which drops it); otherwise rights 0, the PCI side (the ROM alias read/
 * execute-only, or nothing), writes faulting to the VMM that keeps them
 * in DRAM when WE is set.
 */
export function biosWindowCalls(pmc: I440fxPmc): IVmmCall[] {
  const calls: IVmmCall[] = [];
  let run: IVmmCall | null = null;
  for (let i = 0; i < PAM_SEGMENTS.length; i++) {
    const seg = PAM_SEGMENTS[i];
    const mode = pmc.pamMode(i);
    const rights = mode & PAM_RE ? (mode & PAM_WE ? R | W | X : R | X) : 0;
    if (run !== null && run.rights === rights) {
      run.pages = (run.pages as number) + seg.size / 4096;
      continue;
    }
    run = { op: VMM_CALL_SHADOW, gpa: seg.base, pages: seg.size / 4096, rights };
    calls.push(run);
  }
  return calls;
}

/** Puts the ROM at the top and the PAM window over RAM on `mmio` (once per platform). */
export function attachFirmware(rom: Uint8Array, ram: GuestRam, mmio: MmioBus, pmc: I440fxPmc): void {
  mmio.attach(new RomDevice(rom));
  mmio.attachOverRam(new BiosWindow(rom, ram, pmc));
}

// Table 9-1 values as VMCS guest state (Table 24-2 access-rights format).
const AR_CODE_RESET = 0x9b; // present, S = 1, execute/read, accessed
const AR_DATA_RESET = 0x93; // present, S = 1, read/write, accessed
const AR_LDT = 0x82; // present, system type 2 (LDT)
const AR_TSS_BUSY_16 = 0x83; // present, busy 16-bit TSS, as VM entry requires of TR (§26.3.1.2)
const CR0_RESET = 0x6000_0010; // CD, NW, ET
const DR7_RESET = 0x400;

/**
 * Table 9-1 "IA-32 Processor States Following Power-up, Reset, or INIT":
 * EFLAGS 2, EIP FFF0H, CS F000H with base FFFF0000H, limit FFFFH; other
 * segments 0 with base 0, limit FFFFH; EDX = the CPUID signature (family,
 * model, stepping: vmm/cpuid.ts), other GPRs 0 (EAX 0: no BIST); CR0
 * 60000010H; GDTR and IDTR base 0 limit FFFFH; DR7 400H.
 */
export function resetState(): IGuestState {
  const data = () => ({ sel: 0, base: 0, limit: 0xffff, ar: AR_DATA_RESET });
  return {
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: CPU_SIGNATURE,
    ebp: 0,
    esi: 0,
    edi: 0,
    esp: 0,
    eip: 0xfff0,
    instLen: 0,
    eflags: 2,
    cs: { sel: 0xf000, base: 0xffff_0000, limit: 0xffff, ar: AR_CODE_RESET },
    ds: data(),
    es: data(),
    fs: data(),
    gs: data(),
    ss: data(),
    tr: { sel: 0, base: 0, limit: 0xffff, ar: AR_TSS_BUSY_16 },
    ldtr: { sel: 0, base: 0, limit: 0xffff, ar: AR_LDT },
    gdtr: { base: 0, limit: 0xffff },
    idtr: { base: 0, limit: 0xffff },
    cr0: CR0_RESET,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    dr7: DR7_RESET,
    sysenterCs: 0,
    sysenterEsp: 0,
    sysenterEip: 0,
    intrState: 0,
    actvState: 0,
  };
}
