// Oracle: Intel SDM Vol. 3A §4.3 (32-bit paging: PDE at CR3[31:12] |
// linear[31:22] * 4, PTE at PDE[31:12] | linear[21:12] * 4, 4 MiB pages
// with CR4.PSE and PDE.PS, reserved bits 21:13 with MAXPHYADDR 32 and no
// PSE-36, Table 4-5), §4.6.1 (user/supervisor and read/write rights,
// CR0.WP), §4.7 (#PF error code: P bit 0, W/R bit 1, U/S bit 2, RSVD bit 3)
// and §4.8 (accessed and dirty flags).
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import {
  GuestPaging,
  PAGE_FAULT,
  PAGE_FETCH,
  PAGE_USER,
  PAGE_WRITE,
  PF_P,
  PF_RSVD,
  PF_U,
  PF_W,
  TABLE_NOT_RAM,
} from "./guest-paging.js";

const PE = 1;
const WP = 1 << 16;
const PG = 0x8000_0000;
const PSE = 0x10;
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;

const CR3 = 0x1000;
const PT = 0x2000;

function setup(pde: number, pte = 0) {
  const ram = new GuestRam(new SharedArrayBuffer(1 << 20));
  ram.write32(CR3 + (0x300 << 2), pde); // linear 0xC0000000-0xC03FFFFF
  ram.write32(PT + (0x45 << 2), pte); // linear 0xC0045000
  return { ram, paging: new GuestPaging(ram) };
}

describe("guest paging walk (SDM §4.3)", () => {
  it("paging off (CR0.PG = 0): the linear address is the guest-physical address", () => {
    const { paging } = setup(0);
    expect(paging.translate(0xfee0_00b0, PAGE_WRITE, PE, CR3, 0)).toBe(0xfee0_00b0);
  });

  it("4 KiB page: PTE[31:12] | linear[11:0], and sets A in the PDE and A in the PTE on a read", () => {
    const { ram, paging } = setup(PT | P | RW, 0xfee0_0000 | P | RW);
    expect(paging.translate(0xc004_50b0, 0, PE | PG, CR3, 0)).toBe(0xfee0_00b0);
    expect(ram.read32(CR3 + 0xc00) & (A | D)).toBe(A);
    expect(ram.read32(PT + 0x114) & (A | D)).toBe(A);
  });

  it("a write sets D in the PTE, not in the PDE (§4.8)", () => {
    const { ram, paging } = setup(PT | P | RW, 0x0001_2000 | P | RW);
    expect(paging.translate(0xc004_5ffc, PAGE_WRITE, PE | PG, CR3, 0)).toBe(0x0001_2ffc);
    expect(ram.read32(PT + 0x114) & (A | D)).toBe(A | D);
    expect(ram.read32(CR3 + 0xc00) & D).toBe(0);
  });

  it("4 MiB page with CR4.PSE: PDE[31:22] | linear[21:0], D set in the PDE on a write", () => {
    const { ram, paging } = setup(0xfec0_0000 | PS | P | RW);
    expect(paging.translate(0xc012_3456, PAGE_WRITE, PE | PG, CR3, PSE)).toBe(0xfed2_3456);
    expect(ram.read32(CR3 + 0xc00) & (A | D)).toBe(A | D);
  });

  it("PDE.PS is ignored without CR4.PSE: the PDE points to a page table", () => {
    const { paging } = setup(PT | PS | P | RW, 0x0003_0000 | P);
    expect(paging.translate(0xc004_5010, 0, PE | PG, CR3, 0)).toBe(0x0003_0010);
  });
});

describe("#PF error codes (SDM §4.6, §4.7)", () => {
  const cases: [string, number, number, number, number, number][] = [
    // name, pde, pte, access, cr0 extra, expected error code
    ["not-present PDE, supervisor read", 0, 0, 0, 0, 0],
    ["not-present PTE, supervisor write", PT | P | RW, 0, PAGE_WRITE, 0, PF_W],
    ["not-present PTE, user write", PT | P | RW | US, 0, PAGE_WRITE | PAGE_USER, 0, PF_W | PF_U],
    ["user read of a supervisor page", PT | P | RW, 0x5000 | P | RW, PAGE_USER, 0, PF_P | PF_U],
    ["user read where only the PDE is supervisor", PT | P | RW, 0x5000 | P | RW | US, PAGE_USER, 0, PF_P | PF_U],
    ["user write of a read-only user page", PT | P | US | RW, 0x5000 | P | US, PAGE_WRITE | PAGE_USER, 0, 7],
    ["supervisor write of a read-only page with CR0.WP = 1", PT | P | RW, 0x5000 | P, PAGE_WRITE, WP, PF_P | PF_W],
    ["user fetch of a supervisor page: I/D stays 0 without NX/SMEP", PT | P, 0x5000 | P, PAGE_FETCH | PAGE_USER, 0, 5],
  ];
  for (const [name, pde, pte, access, cr0, code] of cases) {
    it(`${name}: error code ${code}`, () => {
      const { ram, paging } = setup(pde, pte);
      const before = [ram.read32(CR3 + 0xc00), ram.read32(PT + 0x114)];
      expect(paging.translate(0xc004_5000, access, PE | PG | cr0, CR3, 0)).toBe(PAGE_FAULT);
      expect(paging.errorCode).toBe(code);
      expect([ram.read32(CR3 + 0xc00), ram.read32(PT + 0x114)]).toEqual(before);
    });
  }

  it("supervisor write of a read-only page with CR0.WP = 0 succeeds", () => {
    const { paging } = setup(PT | P, 0x5000 | P);
    expect(paging.translate(0xc004_5008, PAGE_WRITE, PE | PG, CR3, 0)).toBe(0x5008);
  });

  it("a 4 MiB PDE with reserved bit 13 set (no PSE-36) faults with RSVD | P", () => {
    const { paging } = setup(0x0040_0000 | (1 << 13) | PS | P | RW);
    expect(paging.translate(0xc000_0000, PAGE_WRITE, PE | PG, CR3, PSE)).toBe(PAGE_FAULT);
    expect(paging.errorCode).toBe(PF_RSVD | PF_P | PF_W);
  });
});

describe("page tables outside guest RAM", () => {
  it("a PDE pointing at a page table past the end of RAM is TABLE_NOT_RAM with the entry's address", () => {
    const { paging } = setup(0xfee0_0000 | P | RW);
    expect(paging.translate(0xc004_5000, 0, PE | PG, CR3, 0)).toBe(TABLE_NOT_RAM);
    expect(paging.tableGpa).toBe(0xfee0_0000 + 0x45 * 4);
  });

  it("CR3 past the end of RAM is TABLE_NOT_RAM", () => {
    const { paging } = setup(0);
    expect(paging.translate(0x0000_1000, 0, PE | PG, 0xffff_f000, 0)).toBe(TABLE_NOT_RAM);
  });
});
