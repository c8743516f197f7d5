// The root task's checks and mapping for a VMM's SHADOW call. Oracles: the
// 82441FX datasheet's PAM window (C0000h-FFFFFh, 16 KiB and 64 KiB segments;
// nothing outside it is the chipset's to remap), SDM Vol. 3C §28.2.3.1 (an
// EPT entry that is writable or executable but not readable is a
// misconfiguration, so such rights are refused), and the NOVA rule that
// delegation never adds rights: RAM comes with at most R/W/X, the ROM alias
// only read/execute. The mapping is read back from the VM PD's memory space,
// which the EPT follows.
import { describe, expect, it } from "vitest";
import { MemRights } from "../kernel/capability.js";
import { Kernel } from "../kernel/hypercalls.js";
import type { Pd } from "../kernel/pd.js";
import { checkShadow, commitShadow } from "./bios-window.js";
import { buildVm } from "./vm-builder.js";

const RAM_HPA = 0x100_0000; // 16 MiB: RAM frames 0x1000 + page
const ROM_HPA = 0x400_0000; // a 128 KiB ROM: frames 0x4000-0x401F

function machine(ramPages = 4096) {
  const k = new Kernel();
  let vmPd: Pd | null = null;
  buildVm(
    k,
    0,
    { hpa: RAM_HPA, pages: ramPages },
    { priority: 1, quantum: 1000 },
    (pd) => {
      vmPd = pd;
    },
    { hpa: ROM_HPA, bytes: 128 * 1024 },
  );
  const vm = {
    vmPd: vmPd as unknown as Pd,
    ramFrame: RAM_HPA / 4096,
    ramPages,
    rom: { frame: ROM_HPA / 4096, pages: 32 },
  };
  const at = (page: number) => [vm.vmPd.mem.frameOf(page), vm.vmPd.mem.rightsOf(page)];
  return { k, vm, at };
}

const RX = MemRights.R | MemRights.X;

describe("SHADOW calls (the PAM window's EPT mapping)", () => {
  it("refuses anything outside C0000h-FFFFFh, partial pages, and rights an EPT entry cannot have", () => {
    const { vm } = machine();
    expect(checkShadow(vm, { gpa: 0xbf000, pages: 2, rights: 7 })).toContain("outside the PAM window");
    expect(checkShadow(vm, { gpa: 0xff000, pages: 2, rights: 0 })).toContain("outside the PAM window");
    expect(checkShadow(vm, { gpa: 0xc0800, pages: 1, rights: 7 })).toContain("not whole pages");
    expect(checkShadow(vm, { gpa: 0xc0000, pages: 0, rights: 7 })).toContain("not whole pages");
    expect(checkShadow(vm, { gpa: 0xc0000, pages: 1, rights: MemRights.W })).toContain("rights 2");
    expect(checkShadow(vm, { gpa: 0xc0000, pages: 1, rights: MemRights.X })).toContain("rights 4");
    expect(checkShadow(vm, { gpa: 0xc0000, pages: 1, rights: 8 | MemRights.R })).toContain("rights 9");
    expect(checkShadow(vm, { gpa: 0xc0000, pages: 64, rights: 7 })).toBeNull();
  });

  it("refuses RAM rights where the VM has no RAM (a 512 KiB VM), but allows the PCI side there", () => {
    const { vm } = machine(128);
    expect(checkShadow(vm, { gpa: 0xf0000, pages: 16, rights: RX })).toContain("only 0x80000 bytes of RAM");
    expect(checkShadow(vm, { gpa: 0xf0000, pages: 16, rights: 0 })).toBeNull();
  });

  it("rights: the VM's own RAM frames at those pages with exactly those rights, replacing the ROM alias", () => {
    const { k, vm, at } = machine();
    expect(at(0xf0)).toEqual([ROM_HPA / 4096 + 16, RX]); // as built: the ROM's last 64 KiB at F0000h
    expect(commitShadow(k, vm, { gpa: 0xf0000, pages: 16, rights: 7 })).toBeNull();
    expect(at(0xf0)).toEqual([RAM_HPA / 4096 + 0xf0, 7]);
    expect(at(0xff)).toEqual([RAM_HPA / 4096 + 0xff, 7]);
    expect(at(0xef)).toEqual([ROM_HPA / 4096 + 15, RX]); // the call's range only
    expect(commitShadow(k, vm, { gpa: 0xf0000, pages: 16, rights: RX })).toBeNull(); // then read-only
    expect(at(0xf8)).toEqual([RAM_HPA / 4096 + 0xf8, RX]);
  });

  it("rights 0: the ROM alias read/execute in E0000h-FFFFFh (128 KiB ROM), nothing in C0000h-DFFFFh", () => {
    const { k, vm, at } = machine();
    expect(commitShadow(k, vm, { gpa: 0xc0000, pages: 64, rights: 7 })).toBeNull();
    expect(commitShadow(k, vm, { gpa: 0xc0000, pages: 64, rights: 0 })).toBeNull();
    expect(at(0xc0)).toEqual([-1, 0]);
    expect(at(0xdf)).toEqual([-1, 0]);
    expect(at(0xe0)).toEqual([ROM_HPA / 4096, RX]);
    expect(at(0xff)).toEqual([ROM_HPA / 4096 + 31, RX]);
    expect(at(0xbf)).toEqual([RAM_HPA / 4096 + 0xbf, 7]); // RAM below the window untouched
  });
});
