// Oracle: Intel SDM Vol. 3A §4.3 (32-bit paging, Tables 4-4..4-6: entry
// formats, 4 MiB PDE reserved bits with MAXPHYADDR 32), §4.6 (access rights,
// CR0.WP, U/S), §4.7 (#PF error code; I/D needs SMEP or PAE+NXE), §4.8 (A/D
// flags), §4.10.2.4 (global pages); Vol. 3C §28.3.3.2 and Table 27-7 (EPT
// violations during and after the guest walk, qualification bits 7 and 8),
// §28.3.5 (with EPT A/D, guest paging-structure accesses are writes),
// §28.4.2 (a combined mapping's page is the smaller of guest and EPT page).
import { describe, expect, it } from "vitest";
import { EPT_EXEC, EPT_READ, EPT_WRITE, Ept } from "./ept.js";
import { EptTablePool } from "./ept-table-pool.js";
import { HostMemory } from "./host-memory.js";
import {
  ACCESS_FETCH,
  ACCESS_USER,
  ACCESS_WRITE,
  FAULT_EPT_MISCONFIG,
  FAULT_EPT_VIOLATION,
  FAULT_NONE,
  FAULT_PAGE,
  PageWalker,
} from "./paging.js";

const RAM_SIZE = 0x80_0000; // 8 MiB of guest RAM
const RAM_HPA = 0x100_0000; // placed at 16 MiB host-physical, so GPA != HPA
const RWX = EPT_READ | EPT_WRITE | EPT_EXEC;
const CR0_PE = 1;
const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const CR4_PGE = 1 << 7;
// Entry bits (Tables 4-5, 4-6).
const P = 1;
const RW = 2;
const US = 4;
const A = 0x20;
const D = 0x40;
const PS = 0x80;
const G = 0x100;
// #PF error-code bits (§4.7).
const EC_P = 1;
const EC_W = 2;
const EC_U = 4;
const EC_RSVD = 8;

const PD = 0x1000; // page directory GPA (CR3)
const PT = 0x2000; // page table GPA
const PAGE = 0x7000; // data page GPA
const LIN = 0x0040_5123; // PDE index 1, PTE index 5, offset 0x123

function machine(options: { ept?: boolean; accessDirty?: boolean } = {}) {
  const host = new HostMemory();
  const bytes = new Uint8Array(new SharedArrayBuffer(RAM_SIZE));
  host.add(bytes, RAM_HPA);
  const view = new DataView(bytes.buffer);
  const w = new PageWalker(host);
  let ept: Ept | null = null;
  if (options.ept !== false) {
    ept = new Ept({ pool: new EptTablePool(), accessDirty: options.accessDirty });
    ept.map(0, RAM_HPA, RAM_SIZE, RWX);
    w.ept = ept;
  }
  w.cr0 = (CR0_PE | CR0_PG) >>> 0;
  w.cr3 = PD;
  const put = (gpa: number, v: number) => view.setUint32(gpa, v >>> 0, true);
  const get = (gpa: number) => view.getUint32(gpa, true);
  const hpaOf = (gpa: number) => (ept === null ? gpa : RAM_HPA + gpa);
  return { w, ept: ept as Ept, put, get, hpaOf };
}

/** The usual 4 KiB mapping LIN -> PAGE with the given PDE and PTE flags. */
function map4k(m: ReturnType<typeof machine>, pdeFlags: number, pteFlags: number) {
  m.put(PD + 4 * (LIN >>> 22), PT | pdeFlags);
  m.put(PT + 4 * ((LIN >>> 12) & 0x3ff), PAGE | pteFlags);
}

describe("paging off (CR0.PG = 0)", () => {
  it("treats the linear address as guest-physical and translates it through the EPT", () => {
    const m = machine();
    m.w.cr0 = CR0_PE;
    expect(m.w.translate(0x12345, 0)).toBe(RAM_HPA + 0x12345);
    expect(m.w.fault).toBe(FAULT_NONE);
    expect(m.w.gpa).toBe(0x12345);
  });

  it("reports an EPT violation on the access itself with qualification bits 7 and 8 set", () => {
    const m = machine();
    m.w.cr0 = CR0_PE;
    expect(m.w.translate(RAM_SIZE + 0x10, ACCESS_WRITE)).toBe(-1);
    expect(m.w.fault).toBe(FAULT_EPT_VIOLATION);
    expect(m.w.eptQual).toBe(0x2 | 0x80 | 0x100);
    expect(m.w.faultGpa).toBe(RAM_SIZE + 0x10);
  });
});

describe("32-bit paging with 4 KiB pages (SDM 4.3)", () => {
  it("finds the PDE at CR3[31:12] + 4 * lin[31:22] and the PTE at PDE[31:12] + 4 * lin[21:12]", () => {
    const m = machine();
    map4k(m, P | RW, P | RW);
    expect(m.w.translate(LIN, 0)).toBe(m.hpaOf(PAGE + 0x123));
    expect(m.w.gpa).toBe(PAGE + 0x123);
    expect(m.w.pageSize).toBe(0x1000);
  });

  it("ignores CR3 bits 11:0 (PWT, PCD)", () => {
    const m = machine();
    map4k(m, P, P);
    m.w.cr3 = PD | 0x18;
    expect(m.w.translate(LIN, 0)).toBe(m.hpaOf(PAGE + 0x123));
  });

  it("works without EPT (guest-physical = host-physical)", () => {
    const m = machine({ ept: false });
    const host = m.w.host;
    const low = new Uint8Array(new SharedArrayBuffer(0x10000));
    host.add(low, 0);
    const view = new DataView(low.buffer);
    view.setUint32(PD + 4, PT | P, true);
    view.setUint32(PT + 20, PAGE | P, true);
    expect(m.w.translate(LIN, 0)).toBe(PAGE + 0x123);
    expect(view.getUint32(PT + 20, true) & A).toBe(A);
  });

  it("sets A in the PDE and PTE on a read, and D only in the PTE on a write (SDM 4.8)", () => {
    const m = machine();
    map4k(m, P | RW, P | RW);
    m.w.translate(LIN, 0);
    expect(m.get(PD + 4) & (A | D)).toBe(A);
    expect(m.get(PT + 20) & (A | D)).toBe(A);
    expect(m.w.dirty).toBe(false);
    m.w.translate(LIN, ACCESS_WRITE);
    expect(m.get(PD + 4) & (A | D)).toBe(A);
    expect(m.get(PT + 20) & (A | D)).toBe(A | D);
    expect(m.w.dirty).toBe(true);
  });

  it("reports the AND of R/W and U/S over PDE and PTE for the TLB", () => {
    const m = machine();
    map4k(m, P | US, P | RW | US);
    m.w.translate(LIN, 0);
    expect(m.w.writable).toBe(false);
    expect(m.w.user).toBe(true);
  });

  it("treats PDE.PS as ignored when CR4.PSE = 0 (the PDE still references a page table)", () => {
    const m = machine();
    map4k(m, P | PS, P);
    expect(m.w.translate(LIN, 0)).toBe(m.hpaOf(PAGE + 0x123));
  });
});

describe("4 MiB pages (CR4.PSE = 1, PDE.PS = 1; SDM 4.3 Table 4-4)", () => {
  it("maps lin[21:0] into the page at PDE[31:22] and sets A and D in the PDE", () => {
    const m = machine();
    m.w.cr4 = CR4_PSE;
    m.put(PD + 4, 0x0040_0000 | P | RW | PS);
    expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(m.hpaOf(0x0040_0000 + (LIN & 0x3f_ffff)));
    expect(m.get(PD + 4) & (A | D)).toBe(A | D);
  });

  it("caches the smaller of the guest page and the EPT page (2 MiB here, SDM 28.4.2)", () => {
    const m = machine();
    m.w.cr4 = CR4_PSE;
    m.put(PD + 4, 0x0040_0000 | P | PS);
    m.w.translate(LIN, 0);
    expect(m.ept.walkTables(0x40_0000)).toHaveLength(3);
    expect(m.w.pageSize).toBe(0x20_0000);
  });

  it("is 4 MiB when there is no EPT", () => {
    const m = machine({ ept: false });
    const low = new Uint8Array(new SharedArrayBuffer(0x2000));
    m.w.host.add(low, 0);
    new DataView(low.buffer).setUint32(PD + 4, 0x0040_0000 | P | PS, true);
    m.w.cr4 = CR4_PSE;
    // No memory backs 4 MiB here; the translation still succeeds (no EPT to refuse it).
    expect(m.w.translate(LIN, 0)).toBe(0x0040_0000 + (LIN & 0x3f_ffff));
    expect(m.w.region).toBe(null);
    expect(m.w.pageSize).toBe(0x40_0000);
  });

  it("reports each reserved bit 21:13 as #PF with P and RSVD (MAXPHYADDR 32, no PSE-36)", () => {
    for (let bit = 13; bit <= 21; bit++) {
      const m = machine();
      m.w.cr4 = CR4_PSE;
      m.put(PD + 4, 0x0040_0000 | P | RW | PS | (1 << bit));
      expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(-1);
      expect(m.w.fault).toBe(FAULT_PAGE);
      expect(m.w.errorCode).toBe(EC_P | EC_W | EC_RSVD);
    }
  });

  it("accepts PAT (bit 12) in a 4 MiB PDE", () => {
    const m = machine();
    m.w.cr4 = CR4_PSE;
    m.put(PD + 4, 0x0040_0000 | P | PS | 0x1000);
    expect(m.w.translate(LIN, 0)).toBe(m.hpaOf(0x0040_0000 + (LIN & 0x3f_ffff)));
  });
});

describe("#PF error codes (SDM 4.7)", () => {
  it("not-present PDE, supervisor read: 0", () => {
    const m = machine();
    expect(m.w.translate(LIN, 0)).toBe(-1);
    expect(m.w.fault).toBe(FAULT_PAGE);
    expect(m.w.errorCode).toBe(0);
  });

  it("not-present PTE, user write: W and U", () => {
    const m = machine();
    map4k(m, P | RW | US, RW | US);
    m.w.translate(LIN, ACCESS_WRITE | ACCESS_USER);
    expect(m.w.errorCode).toBe(EC_W | EC_U);
  });

  it("user read of a supervisor page: P and U", () => {
    const m = machine();
    map4k(m, P | RW | US, P | RW);
    m.w.translate(LIN, ACCESS_USER);
    expect(m.w.errorCode).toBe(EC_P | EC_U);
  });

  it("user read where only the PDE is supervisor: P and U (U/S is ANDed over the walk)", () => {
    const m = machine();
    map4k(m, P | RW, P | RW | US);
    m.w.translate(LIN, ACCESS_USER);
    expect(m.w.errorCode).toBe(EC_P | EC_U);
  });

  it("user write to a read-only user page: P, W and U", () => {
    const m = machine();
    map4k(m, P | US, P | RW | US);
    m.w.translate(LIN, ACCESS_WRITE | ACCESS_USER);
    expect(m.w.errorCode).toBe(EC_P | EC_W | EC_U);
  });

  it("instruction fetch faults leave I/D (bit 4) clear: no SMEP and no PAE/NXE on this processor", () => {
    const m = machine();
    map4k(m, P | US, P);
    m.w.translate(LIN, ACCESS_FETCH | ACCESS_USER);
    expect(m.w.errorCode).toBe(EC_P | EC_U);
    m.put(PD + 4, 0);
    m.w.translate(LIN, ACCESS_FETCH);
    expect(m.w.errorCode).toBe(0);
  });

  it("does not set A or D on the page when the access faults", () => {
    const m = machine();
    map4k(m, P | US, P | US);
    m.w.translate(LIN, ACCESS_WRITE | ACCESS_USER);
    expect(m.get(PT + 20) & (A | D)).toBe(0);
  });
});

describe("CR0.WP and supervisor accesses (SDM 4.6)", () => {
  it("with WP = 0 a supervisor write to a read-only page succeeds and sets D", () => {
    const m = machine();
    map4k(m, P, P);
    expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(m.hpaOf(PAGE + 0x123));
    expect(m.get(PT + 20) & D).toBe(D);
  });

  it("with WP = 1 a supervisor write to a read-only page faults with P and W", () => {
    const m = machine();
    map4k(m, P | RW, P);
    m.w.cr0 = (m.w.cr0 | CR0_WP) >>> 0;
    expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(-1);
    expect(m.w.errorCode).toBe(EC_P | EC_W);
  });

  it("supervisor reads and fetches may use user pages", () => {
    const m = machine();
    map4k(m, P | US, P | US);
    expect(m.w.translate(LIN, 0)).toBeGreaterThanOrEqual(0);
    expect(m.w.translate(LIN, ACCESS_FETCH)).toBeGreaterThanOrEqual(0);
  });
});

describe("global pages (SDM 4.10.2.4)", () => {
  it("is global only with G in the final entry and CR4.PGE = 1", () => {
    const m = machine();
    map4k(m, P, P | G);
    m.w.translate(LIN, 0);
    expect(m.w.global).toBe(false);
    m.w.cr4 = CR4_PGE;
    m.w.translate(LIN, 0);
    expect(m.w.global).toBe(true);
    map4k(m, P | G, P);
    m.w.translate(LIN, 0);
    expect(m.w.global).toBe(false);
  });
});

describe("EPT during the guest walk (SDM 28.3.3.2, Table 27-7)", () => {
  it("a not-present page directory: read, linear valid (bit 7), page-walk access (bit 8 = 0), GPA of the PDE", () => {
    const m = machine();
    map4k(m, P, P);
    m.ept.unmap(PD, 0x1000);
    expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(-1);
    expect(m.w.fault).toBe(FAULT_EPT_VIOLATION);
    expect(m.w.eptQual).toBe(0x1 | 0x80);
    expect(m.w.faultGpa).toBe(PD + 4);
  });

  it("a not-present page table: the GPA of the PTE", () => {
    const m = machine();
    map4k(m, P, P);
    m.ept.unmap(PT, 0x1000);
    m.w.translate(LIN, 0);
    expect(m.w.eptQual).toBe(0x1 | 0x80);
    expect(m.w.faultGpa).toBe(PT + 20);
  });

  it("setting A in a read-only page table is a write violation with R granted (bits 1, 3, 7)", () => {
    const m = machine();
    map4k(m, P | A, P);
    m.ept.protect(PT, 0x1000, EPT_READ);
    m.w.translate(LIN, 0);
    expect(m.w.fault).toBe(FAULT_EPT_VIOLATION);
    expect(m.w.eptQual).toBe(0x2 | 0x8 | 0x80);
    expect(m.w.faultGpa).toBe(PT + 20);
  });

  it("a read-only page table is fine once A (and D for writes) are already set", () => {
    const m = machine();
    map4k(m, P | RW | A, P | RW | A | D);
    m.ept.protect(PD, 0x2000, EPT_READ);
    expect(m.w.translate(LIN, ACCESS_WRITE)).toBe(m.hpaOf(PAGE + 0x123));
  });

  it("with EPT A/D enabled, walk reads are writes: a read-only page directory faults even with A set", () => {
    const m = machine({ accessDirty: true });
    map4k(m, P | A, P | A);
    m.ept.protect(PD, 0x1000, EPT_READ);
    m.w.translate(LIN, 0);
    expect(m.w.eptQual).toBe(0x2 | 0x8 | 0x80);
    expect(m.w.faultGpa).toBe(PD + 4);
  });

  it("a write to a read-only data page: bits 1, 3, 7 and 8, GPA of the byte", () => {
    const m = machine();
    map4k(m, P | RW, P | RW);
    m.ept.protect(PAGE, 0x1000, EPT_READ | EPT_EXEC);
    m.w.translate(LIN, ACCESS_WRITE);
    expect(m.w.fault).toBe(FAULT_EPT_VIOLATION);
    expect(m.w.eptQual).toBe(0x2 | 0x8 | 0x20 | 0x80 | 0x100);
    expect(m.w.faultGpa).toBe(PAGE + 0x123);
  });

  it("a fetch from a non-executable data page: bits 2, 3, 4, 7 and 8", () => {
    const m = machine();
    map4k(m, P, P);
    m.ept.protect(PAGE, 0x1000, EPT_READ | EPT_WRITE);
    m.w.translate(LIN, ACCESS_FETCH);
    expect(m.w.eptQual).toBe(0x4 | 0x8 | 0x10 | 0x80 | 0x100);
  });

  it("reports the EPT rights of the final page for the TLB", () => {
    const m = machine();
    map4k(m, P | RW, P | RW);
    m.ept.protect(PAGE, 0x1000, EPT_READ);
    m.w.translate(LIN, 0);
    expect(m.w.eptRights).toBe(EPT_READ);
  });

  it("an EPT misconfiguration on the page-table page is FAULT_EPT_MISCONFIG with its GPA", () => {
    const m = machine();
    map4k(m, P, P);
    m.ept.protect(PT, 0x1000, EPT_READ); // split the 2 MiB page so PT has its own PTE
    const pte = m.ept.walkTables(PT)[3];
    m.ept.writeEntry(pte.entryAddress, (pte.value & ~7n) | 2n);
    m.w.translate(LIN, 0);
    expect(m.w.fault).toBe(FAULT_EPT_MISCONFIG);
    expect(m.w.faultGpa).toBe(PT + 20);
  });

  it("with EPT A/D enabled a translation for a read is not 'dirty' until a write sets EPT D", () => {
    const m = machine({ accessDirty: true });
    map4k(m, P | RW, P | RW | D);
    m.w.translate(LIN, 0);
    expect(m.w.dirty).toBe(false);
    m.w.translate(LIN, ACCESS_WRITE);
    expect(m.w.dirty).toBe(true);
  });
});
