// The Intel 82441FX PCI and Memory Controller (PMC) of the 440FX chipset,
// as bus 0 device 0, function 0: the host bridge identity a PC guest expects
// (Intel 82441FX datasheet, "PCI Configuration Registers": VID 8086h, DID
// 1237h, class 060000h, header type 00h; PCICMD default 0006h, PCISTS
// default 0280h). The chipset registers kept are those firmware writes: the
// latency timer and the PAM registers 59h-5Fh that map the BIOS areas.
//
// PAM (Programmable Attribute Map, default 00h each): 13 segments of
// C0000h-FFFFFh, each with RE (reads go to DRAM, else to PCI) and WE (writes
// go to DRAM, else to PCI). PAM0 bits 5:4 hold F0000h-FFFFFh (bits 3:0
// reserved); PAM1-PAM6 hold two 16 KiB segments each, bits 1:0 the lower
// (C0000h, C8000h, ... E8000h) and bits 5:4 the upper; bits 7:6 and 3:2 are
// reserved (cacheability is the processor's MTRRs' business on the FX).
// What a segment's mode does to memory cycles is the VMM's (vmm/boot/firmware.ts).
import { type PciAccessSize, PciConfigSpace, PciHeader } from "./pci-config-space.js";

export const I440FX_VENDOR_ID = 0x8086;
export const I440FX_DEVICE_ID = 0x1237;
export const PAM0 = 0x59;
const PAM6 = 0x5f;

/** Segment mode bits (either nibble, shifted down): RE reads DRAM, WE writes DRAM. */
export const PAM_RE = 1;
export const PAM_WE = 2;

/** The window the PAM registers decode. */
export const PAM_WINDOW_BASE = 0xc_0000;
export const PAM_WINDOW_END = 0x10_0000;

export interface PamSegment {
  base: number;
  size: number;
  /** Configuration offset of its PAM register and the shift of its RE/WE pair there. */
  reg: number;
  shift: number;
}

/** The 13 segments in address order: 12 of 16 KiB from C0000h (PAM1-PAM6), then F0000h-FFFFFh (PAM0). */
export const PAM_SEGMENTS: readonly PamSegment[] = [
  ...Array.from({ length: 12 }, (_, i) => ({
    base: PAM_WINDOW_BASE + i * 0x4000,
    size: 0x4000,
    reg: PAM0 + 1 + (i >> 1),
    shift: (i & 1) * 4,
  })),
  { base: 0xf_0000, size: 0x1_0000, reg: PAM0, shift: 4 },
];

/** The segment index holding window offset `off` (0 .. 3FFFFh). */
export function pamSegmentAt(off: number): number {
  return off >= 0x3_0000 ? 12 : off >>> 14;
}

/** The 82441FX: its configuration space plus PAM decoding and a listener for PAM changes. */
export class I440fxPmc extends PciConfigSpace {
  /** Called after a write or restore changed any PAM register (the VMM remaps the window). */
  onPamChange: (() => void) | null = null;

  constructor() {
    super("i440fx", {
      vendorId: I440FX_VENDOR_ID,
      deviceId: I440FX_DEVICE_ID,
      revisionId: 0x02,
      classCode: 0x060000,
      headerType: 0x00,
    });
    this.set16(PciHeader.COMMAND, 0x0006); // memory and bus master, always on in a host bridge
    this.set16(PciHeader.STATUS, 0x0280); // fast back-to-back capable, medium DEVSEL timing
    this.writable(PciHeader.COMMAND, 2, 0x0140); // PERR# response, SERR# enable
    this.writeOneToClear(PciHeader.STATUS, 2, 0xf900); // error bits: parity, aborts, SERR#, PERR#
    this.writable(PciHeader.LATENCY_TIMER, 1, 0xf8); // MLT: 8-clock granularity
    this.writable(PAM0, 1, 0x30);
    for (let r = PAM0 + 1; r <= PAM6; r++) this.writable(r, 1, 0x33);
  }

  /** Segment `i`'s RE/WE bits (PAM_RE | PAM_WE). */
  pamMode(i: number): number {
    const s = PAM_SEGMENTS[i];
    return (this.bytes[s.reg] >>> s.shift) & 3;
  }

  override configWrite(offset: number, size: PciAccessSize, value: number): void {
    const touchesPam = offset <= PAM6 && offset + size > PAM0;
    const before = touchesPam ? this.pamWord() : 0;
    super.configWrite(offset, size, value);
    if (touchesPam && this.pamWord() !== before) this.onPamChange?.();
  }

  override restore(state: unknown): void {
    super.restore(state);
    this.onPamChange?.();
  }

  /** PAM0-PAM6's 26 meaningful bits as one number, to see whether a write changed any. */
  private pamWord(): number {
    let w = 0;
    for (let i = 0; i < PAM_SEGMENTS.length; i++) w = w * 4 + this.pamMode(i);
    return w;
  }
}

export function createI440fxHostBridge(): I440fxPmc {
  return new I440fxPmc();
}
