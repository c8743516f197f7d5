// The guest's own linear-to-guest-physical translation, walked by the VMM in
// guest RAM as the processor would (SDM Vol. 3A §4.3, 32-bit paging with
// 4 KiB pages and, with CR4.PSE, 4 MiB pages). Rights follow §4.6 without
// SMEP/SMAP/NX (this P6-class processor has none), accessed and dirty flags
// §4.8, #PF error codes §4.7. MAXPHYADDR is 32 and there is no PSE-36, so
// bits 21:13 of a 4 MiB PDE are reserved (Table 4-5) and set ones fault
// with RSVD. Paging-structure entries must lie in guest RAM: the VMM cannot
// emulate a page walk through a device.
import type { GuestRam } from "../guest-ram.js";
import { CR0_PE, CR0_PG, CR0_WP, CR4_PSE } from "./register-file.js";

/** translate() access bits. */
export const PAGE_WRITE = 1;
export const PAGE_USER = 2;
export const PAGE_FETCH = 4;

/** translate() results below zero. */
export const PAGE_FAULT = -1;
export const TABLE_NOT_RAM = -2;

/** #PF error-code bits (§4.7). I/D stays 0: it needs SMEP or PAE with EFER.NXE. */
export const PF_P = 1;
export const PF_W = 2;
export const PF_U = 4;
export const PF_RSVD = 8;

const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const PDE_4M_RESERVED = 0x3f_e000;

export class GuestPaging {
  /** #PF error code of the last PAGE_FAULT. */
  errorCode = 0;
  /** Guest-physical address of the entry that was not in RAM (TABLE_NOT_RAM). */
  tableGpa = 0;

  constructor(private readonly ram: GuestRam) {}

  /** Guest-physical address of `linear`, or PAGE_FAULT / TABLE_NOT_RAM. Linear = physical with paging off. */
  translate(linear: number, access: number, cr0: number, cr3: number, cr4: number): number {
    linear >>>= 0;
    if (!(cr0 & CR0_PG) || !(cr0 & CR0_PE)) return linear;
    const pdeGpa = ((cr3 & 0xffff_f000) | ((linear >>> 22) << 2)) >>> 0;
    const pde = this.entry(pdeGpa);
    if (pde < 0) return TABLE_NOT_RAM;
    if (!(pde & P)) return this.fault(access, 0);
    if (pde & PS && cr4 & CR4_PSE) {
      if (pde & PDE_4M_RESERVED) return this.fault(access, PF_P | PF_RSVD);
      if (!allowed(pde, access, cr0)) return this.fault(access, PF_P);
      this.setFlags(pdeGpa, pde, access & PAGE_WRITE ? A | D : A);
      return ((pde & 0xffc0_0000) | (linear & 0x3f_ffff)) >>> 0;
    }
    const pteGpa = ((pde & 0xffff_f000) | (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
    const pte = this.entry(pteGpa);
    if (pte < 0) return TABLE_NOT_RAM;
    if (!(pte & P)) return this.fault(access, 0);
    // §4.6: the rights of a 4 KiB page are the AND of the PDE's and the PTE's.
    if (!allowed(pde & pte, access, cr0)) return this.fault(access, PF_P);
    this.setFlags(pdeGpa, pde, A);
    this.setFlags(pteGpa, pte, access & PAGE_WRITE ? A | D : A);
    return ((pte & 0xffff_f000) | (linear & 0xfff)) >>> 0;
  }

  private entry(gpa: number): number {
    if (!this.ram.contains(gpa, 4)) {
      this.tableGpa = gpa;
      return -1;
    }
    return this.ram.read32(gpa);
  }

  /** §4.8: set A (and D for a write) when the entry lacks them; entries the walk does not change are not written. */
  private setFlags(gpa: number, entry: number, flags: number): void {
    if ((entry & flags) !== flags) this.ram.write32(gpa, (entry | flags) >>> 0);
  }

  /** §4.7: P says protection (1) or not-present (0); W/R and U/S describe the access. */
  private fault(access: number, bits: number): number {
    this.errorCode = bits | (access & PAGE_WRITE ? PF_W : 0) | (access & PAGE_USER ? PF_U : 0);
    return PAGE_FAULT;
  }
}

/** §4.6.1: user accesses need U/S = 1, user writes R/W = 1; supervisor writes need R/W = 1 only when CR0.WP = 1. */
function allowed(rights: number, access: number, cr0: number): boolean {
  const write = (access & PAGE_WRITE) !== 0;
  if (access & PAGE_USER) return (rights & US) !== 0 && (!write || (rights & RW) !== 0);
  return !write || (rights & RW) !== 0 || (cr0 & CR0_WP) === 0;
}
