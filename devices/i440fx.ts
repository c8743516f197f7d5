// The Intel 82441FX PCI and Memory Controller (PMC) of the 440FX chipset,
// as bus 0 device 0, function 0: the host bridge identity a PC guest expects
// (Intel 82441FX datasheet, "PCI Configuration Registers": VID 8086h, DID
// 1237h, class 060000h, header type 00h; PCICMD default 0006h, PCISTS
// default 0280h). The chipset registers kept are those firmware writes: the
// latency timer and the PAM registers 59h-5Fh that map the BIOS areas.
import { PciConfigSpace, PciHeader } from "./pci-config-space.js";

export const I440FX_VENDOR_ID = 0x8086;
export const I440FX_DEVICE_ID = 0x1237;
const PAM0 = 0x59;
const PAM6 = 0x5f;

export function createI440fxHostBridge(): PciConfigSpace {
  const s = new PciConfigSpace("i440fx", {
    vendorId: I440FX_VENDOR_ID,
    deviceId: I440FX_DEVICE_ID,
    revisionId: 0x02,
    classCode: 0x060000,
    headerType: 0x00,
  });
  s.set16(PciHeader.COMMAND, 0x0006); // memory and bus master, always on in a host bridge
  s.set16(PciHeader.STATUS, 0x0280); // fast back-to-back capable, medium DEVSEL timing
  s.writable(PciHeader.COMMAND, 2, 0x0140); // PERR# response, SERR# enable
  s.writeOneToClear(PciHeader.STATUS, 2, 0xf900); // error bits: parity, aborts, SERR#, PERR#
  s.writable(PciHeader.LATENCY_TIMER, 1, 0xf8); // MLT: 8-clock granularity
  // PAM0 bits 5:4 (F0000h-FFFFFh), PAM1-6 bits 5:4 and 1:0 (read and write enables).
  s.writable(PAM0, 1, 0x30);
  for (let r = PAM0 + 1; r <= PAM6; r++) s.writable(r, 1, 0x33);
  return s;
}
