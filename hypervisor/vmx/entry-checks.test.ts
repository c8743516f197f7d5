// Oracle: Intel SDM Vol. 3C (2022 numbering) §26.2.1 (checks on VMX
// controls), §26.3.1 (checks on the guest-state area), §24.4.1 Table 24-2
// (access-rights format), §24.8.3 (VM-entry interruption information),
// Table 24-8 (EPTP), Tables 24-3/24-4 (interruptibility, pending debug
// exceptions), App. A (capability MSRs; this processor's choices are
// documented in entry-checks.ts). Each failing case starts from a state that
// passes and breaks exactly one rule.
import { describe, expect, it } from "vitest";
import { Ept } from "../mmu/ept.js";
import { EptTablePool } from "../mmu/ept-table-pool.js";
import { checkControls, checkGuestState, VM_ENTRY_MSR_LOAD_COUNT, VM_EXIT_MSR_STORE_COUNT } from "./entry-checks.js";
import { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

const CODE_32 = 0xc09b; // G, D/B, P, DPL 0, S, type 11 (execute/read, accessed)
const DATA_32 = 0xc093; // G, D/B, P, DPL 0, S, type 3 (read/write, accessed)
const TSS_BUSY_32 = 0x8b; // P, type 11
const UNUSABLE = 0x10000;

/** A flat 32-bit protected-mode guest with paging, EPT and VPID: entry succeeds. */
function valid(): Vmcs {
  const v = new Vmcs();
  const ept = new Ept({ pool: new EptTablePool() });
  v.ept = ept;
  v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | F.PIN_NMI_EXITING);
  v.write(
    F.CPU_BASED_VM_EXEC_CONTROL,
    (F.CPU_HLT_EXITING | F.CPU_UNCOND_IO_EXITING | F.CPU_USE_MSR_BITMAPS | F.CPU_ACTIVATE_SECONDARY) >>> 0,
  );
  v.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | F.SEC_ENABLE_VPID);
  v.write(F.VPID, 1);
  v.write(F.EPT_POINTER, ept.eptp);
  v.write(F.GUEST_CR0, 0x80000011); // PG, ET, PE
  v.write(F.GUEST_CR3, 0x1000);
  v.write(F.GUEST_CR4, 0x10); // PSE
  v.write(F.GUEST_DR7, 0x400);
  v.write(F.GUEST_CS_SELECTOR, 0x08);
  v.write(F.GUEST_CS_LIMIT, 0xffffffff);
  v.write(F.GUEST_CS_AR_BYTES, CODE_32);
  for (const [sel, limit, ar] of [
    [F.GUEST_SS_SELECTOR, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
    [F.GUEST_DS_SELECTOR, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
    [F.GUEST_ES_SELECTOR, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
    [F.GUEST_FS_SELECTOR, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
    [F.GUEST_GS_SELECTOR, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
  ]) {
    v.write(sel, 0x10);
    v.write(limit, 0xffffffff);
    v.write(ar, DATA_32);
  }
  v.write(F.GUEST_TR_SELECTOR, 0x18);
  v.write(F.GUEST_TR_BASE, 0x2000);
  v.write(F.GUEST_TR_LIMIT, 0x67);
  v.write(F.GUEST_TR_AR_BYTES, TSS_BUSY_32);
  v.write(F.GUEST_LDTR_AR_BYTES, UNUSABLE);
  v.write(F.GUEST_GDTR_LIMIT, 0x1f);
  v.write(F.GUEST_IDTR_LIMIT, 0x7ff);
  v.write(F.GUEST_RIP, 0x100000);
  v.write(F.GUEST_RFLAGS, 0x2);
  v.write(F.VMCS_LINK_POINTER, 0xffffffff);
  return v;
}

/** A real-mode guest under "unrestricted guest" (CR0.PE = PG = 0). */
function realMode(): Vmcs {
  const v = valid();
  v.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | F.SEC_ENABLE_VPID | F.SEC_UNRESTRICTED_GUEST);
  v.write(F.GUEST_CR0, 0x10);
  v.write(F.GUEST_CS_SELECTOR, 0xf000);
  v.write(F.GUEST_CS_BASE, 0xf0000);
  v.write(F.GUEST_CS_LIMIT, 0xffff);
  v.write(F.GUEST_CS_AR_BYTES, 0x93); // P, S, type 3
  for (const [sel, limit, ar] of [
    [F.GUEST_SS_SELECTOR, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
    [F.GUEST_DS_SELECTOR, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  ]) {
    v.write(sel, 0);
    v.write(limit, 0xffff);
    v.write(ar, 0x93);
  }
  return v;
}

/** A flat CPL-3 guest: CS and SS selectors with RPL 3, DPL 3. */
function userMode(): Vmcs {
  const v = valid();
  v.write(F.GUEST_CS_SELECTOR, 0x1b);
  v.write(F.GUEST_CS_AR_BYTES, CODE_32 | 0x60);
  v.write(F.GUEST_SS_SELECTOR, 0x23);
  v.write(F.GUEST_SS_AR_BYTES, DATA_32 | 0x60);
  return v;
}

function guest(base: () => Vmcs, change: (v: Vmcs) => void): string | null {
  const v = base();
  change(v);
  return checkGuestState(v);
}

function controls(change: (v: Vmcs) => void, base: () => Vmcs = valid): string | null {
  const v = base();
  change(v);
  return checkControls(v);
}

function inject(type: number, vector: number, errorCode = false): number {
  return (F.INTR_INFO_VALID | (type << 8) | vector | (errorCode ? F.INTR_INFO_DELIVER_ERROR : 0)) >>> 0;
}

describe("valid states", () => {
  it("a flat 32-bit protected-mode guest passes both control and guest-state checks", () => {
    const v = valid();
    expect(checkControls(v)).toBe(null);
    expect(checkGuestState(v)).toBe(null);
  });

  it("a real-mode guest passes with unrestricted guest", () => {
    expect(checkControls(realMode())).toBe(null);
    expect(checkGuestState(realMode())).toBe(null);
  });

  it("a CPL-3 guest passes", () => {
    expect(checkGuestState(userMode())).toBe(null);
  });

  it("an all-zero VMCS fails (no silent defaults)", () => {
    expect(checkGuestState(new Vmcs())).not.toBe(null);
  });
});

describe("VM-execution controls (SDM 26.2.1.1)", () => {
  it("rejects an unsupported pin-based control (bit 7, process posted interrupts)", () => {
    expect(controls((v) => v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | (1 << 7)))).toMatch(
      /pin-based controls: bit 7 not supported \(SDM 26\.2\.1\.1\)/,
    );
  });

  it("accepts default1 bits set or clear (TRUE controls MSRs allow them 0)", () => {
    expect(controls((v) => v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | 0x16))).toBe(null);
    const proc = v0(valid(), F.CPU_BASED_VM_EXEC_CONTROL);
    expect(controls((v) => v.write(F.CPU_BASED_VM_EXEC_CONTROL, (proc | 0x0401e172) >>> 0))).toBe(null);
  });

  it("rejects CR8-load exiting (bit 19): this processor has no Intel 64", () => {
    const proc = v0(valid(), F.CPU_BASED_VM_EXEC_CONTROL);
    expect(controls((v) => v.write(F.CPU_BASED_VM_EXEC_CONTROL, (proc | (1 << 19)) >>> 0))).toMatch(
      /primary processor-based controls: bit 19/,
    );
  });

  it("checks secondary controls only when activated", () => {
    expect(controls((v) => v.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | 1))).toMatch(
      /secondary processor-based controls: bit 0/,
    );
    expect(
      controls((v) => {
        v.write(F.CPU_BASED_VM_EXEC_CONTROL, F.CPU_HLT_EXITING);
        v.write(F.SECONDARY_VM_EXEC_CONTROL, 0xffffffff);
      }),
    ).toBe(null);
  });

  it("limits the CR3-target count to 4", () => {
    expect(controls((v) => v.write(F.CR3_TARGET_COUNT, 4))).toBe(null);
    expect(controls((v) => v.write(F.CR3_TARGET_COUNT, 5))).toMatch(/CR3-target count 5/);
  });

  it("requires 4 KiB-aligned I/O-bitmap and MSR-bitmap addresses when they are used", () => {
    expect(
      controls((v) => {
        v.write(F.CPU_BASED_VM_EXEC_CONTROL, (F.CPU_USE_IO_BITMAPS | F.CPU_ACTIVATE_SECONDARY) >>> 0);
        v.write(F.IO_BITMAP_B, 0x1010);
      }),
    ).toMatch(/I\/O bitmap B address not 4 KiB aligned/);
    expect(controls((v) => v.write(F.MSR_BITMAP, 0x800))).toMatch(/MSR-bitmap address/);
  });

  it("rejects virtual NMIs without NMI exiting", () => {
    expect(controls((v) => v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_VIRTUAL_NMIS))).toMatch(
      /virtual NMIs set without NMI exiting/,
    );
  });

  it("rejects NMI-window exiting without virtual NMIs", () => {
    const proc = v0(valid(), F.CPU_BASED_VM_EXEC_CONTROL);
    expect(controls((v) => v.write(F.CPU_BASED_VM_EXEC_CONTROL, (proc | F.CPU_NMI_WINDOW_EXITING) >>> 0))).toMatch(
      /NMI-window exiting/,
    );
  });

  it("rejects VPID 0 with enable VPID", () => {
    expect(controls((v) => v.write(F.VPID, 0))).toMatch(/VPID is 0/);
  });

  it("rejects unrestricted guest without EPT", () => {
    expect(controls((v) => v.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_UNRESTRICTED_GUEST))).toMatch(
      /unrestricted guest set without enable EPT/,
    );
  });
});

describe("EPTP (SDM 26.2.1.1, Table 24-8)", () => {
  const eptp = (f: (e: number) => number) => controls((v) => v.write(F.EPT_POINTER, f(v0(v, F.EPT_POINTER))));

  it("accepts memory type UC (0) and WB (6), rejects WC (1)", () => {
    expect(eptp((e) => e - 6)).toBe(null);
    expect(eptp((e) => e - 5)).toMatch(/memory type 1/);
  });

  it("requires a page-walk length of 4 (bits 5:3 = 3)", () => {
    expect(eptp((e) => e - 8)).toMatch(/page-walk length 3/);
  });

  it("rejects reserved bits 11:7", () => {
    expect(eptp((e) => e + 0x80)).toMatch(/reserved bits 11:7/);
  });

  it("requires bit 6 to match the EPT's accessed/dirty setting", () => {
    expect(eptp((e) => e + 0x40)).toMatch(/bit 6/);
  });

  it("accepts the type and length bits alone, rejects an address that is not the EPT's PML4", () => {
    expect(eptp(() => 0x1e)).toBe(null);
    expect(eptp(() => 0x5000 + 0x1e)).toMatch(/does not name the EPT PML4/);
  });

  it("requires EPT paging structures when EPT is enabled", () => {
    expect(
      controls((v) => {
        v.ept = null;
      }),
    ).toMatch(/no EPT paging structures/);
  });
});

describe("VM-exit controls (SDM 26.2.1.2)", () => {
  it("rejects host address-space size (bit 9): no Intel 64", () => {
    expect(controls((v) => v.write(F.VM_EXIT_CONTROLS, 1 << 9))).toMatch(/VM-exit controls: bit 9 not supported/);
  });

  it("rejects save VMX-preemption timer value without activate VMX-preemption timer", () => {
    expect(controls((v) => v.write(F.VM_EXIT_CONTROLS, F.EXIT_SAVE_PREEMPTION_TIMER))).toMatch(
      /save VMX-preemption timer value/,
    );
    expect(
      controls((v) => {
        v.write(F.VM_EXIT_CONTROLS, F.EXIT_SAVE_PREEMPTION_TIMER);
        v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | F.PIN_PREEMPTION_TIMER);
      }),
    ).toBe(null);
  });

  it("rejects MSR areas, which this processor does not have", () => {
    expect(controls((v) => v.write(VM_EXIT_MSR_STORE_COUNT, 1))).toMatch(/VM-exit MSR-store count 1/);
  });
});

describe("VM-entry controls and event injection (SDM 26.2.1.3)", () => {
  const event = (info: number, more?: (v: Vmcs) => void, base?: () => Vmcs) =>
    controls((v) => {
      v.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
      more?.(v);
    }, base);

  it("rejects IA-32e mode guest (bit 9) and MSR loading", () => {
    expect(controls((v) => v.write(F.VM_ENTRY_CONTROLS, F.ENTRY_IA32E_MODE))).toMatch(/VM-entry controls: bit 9/);
    expect(controls((v) => v.write(VM_ENTRY_MSR_LOAD_COUNT, 2))).toMatch(/VM-entry MSR-load count 2/);
  });

  it("accepts an external interrupt and a #GP with its error code", () => {
    expect(event(inject(F.INTR_TYPE_EXT_INTR, 0x20))).toBe(null);
    expect(
      event(inject(F.INTR_TYPE_HW_EXCEPTION, 13, true), (v) => v.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, 0xffff)),
    ).toBe(null);
  });

  it("ignores the field's other bits when the valid bit is clear", () => {
    expect(event(0x7fffffff)).toBe(null);
  });

  it("rejects interruption type 1 (reserved)", () => {
    expect(event(inject(1, 0))).toMatch(/type 1 is reserved/);
  });

  it("requires vector 2 for an NMI", () => {
    expect(event(inject(F.INTR_TYPE_NMI, 3))).toMatch(/NMI with vector 3/);
  });

  it("requires vector <= 31 for a hardware exception", () => {
    expect(event(inject(F.INTR_TYPE_HW_EXCEPTION, 32))).toMatch(/vector 32 > 31/);
  });

  it("requires vector 0 for 'other event' (pending MTF VM exit)", () => {
    expect(event(inject(7, 0))).toBe(null);
    expect(event(inject(7, 1))).toMatch(/other event with vector 1/);
  });

  it("requires deliver-error-code exactly for #DF #TS #NP #SS #GP #PF #AC", () => {
    for (let vector = 0; vector < 32; vector++) {
      const needs = [8, 10, 11, 12, 13, 14, 17].includes(vector);
      expect(event(inject(F.INTR_TYPE_HW_EXCEPTION, vector, needs))).toBe(null);
      expect(event(inject(F.INTR_TYPE_HW_EXCEPTION, vector, !needs))).toMatch(/deliver-error-code/);
    }
    expect(event(inject(F.INTR_TYPE_SW_INTR, 13, true), (v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 2))).toMatch(
      /deliver-error-code set for type 4/,
    );
  });

  it("forbids an error code in real mode under unrestricted guest", () => {
    expect(event(inject(F.INTR_TYPE_HW_EXCEPTION, 13, false), undefined, realMode)).toBe(null);
    expect(event(inject(F.INTR_TYPE_HW_EXCEPTION, 13, true), undefined, realMode)).toMatch(/in real mode/);
  });

  it("rejects reserved bits 30:12", () => {
    expect(event((inject(F.INTR_TYPE_EXT_INTR, 0x20) | (1 << 12)) >>> 0)).toMatch(/reserved bits 30:12/);
  });

  it("rejects error-code bits 31:16", () => {
    expect(
      event(inject(F.INTR_TYPE_HW_EXCEPTION, 14, true), (v) => v.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000)),
    ).toMatch(/error code bits 31:16/);
  });

  it("requires an instruction length of 1-15 for software interrupts and exceptions (IA32_VMX_MISC[30] = 0)", () => {
    for (const type of [F.INTR_TYPE_SW_INTR, F.INTR_TYPE_PRIV_SW_EXCEPTION, F.INTR_TYPE_SW_EXCEPTION]) {
      expect(event(inject(type, 3), (v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 1))).toBe(null);
      expect(event(inject(type, 3), (v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 15))).toBe(null);
      expect(event(inject(type, 3), (v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 0))).toMatch(/instruction length 0/);
      expect(event(inject(type, 3), (v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 16))).toMatch(/instruction length 16/);
    }
  });

  it("rejects values that do not fit their field (untrusted VMM input)", () => {
    expect(controls((v) => v.write(F.VM_ENTRY_INSTRUCTION_LEN, 1.5))).toMatch(/VM_ENTRY_INSTRUCTION_LEN/);
    expect(controls((v) => v.write(F.VPID, 0x10000))).toMatch(/VPID.*16 bits/);
    expect(controls((v) => v.write(F.VM_ENTRY_CONTROLS, -1))).toMatch(/VM_ENTRY_CONTROLS/);
  });
});

describe("control registers, DR7, DEBUGCTL (SDM 26.3.1.1)", () => {
  it("requires CR0.PE and CR0.PG without unrestricted guest (IA32_VMX_CR0_FIXED0)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CR0, 0x11))).toMatch(/CR0: bit 31 must be 1 .*26\.3\.1\.1/);
    expect(guest(valid, (v) => v.write(F.GUEST_CR0, 0x80000010))).toMatch(/CR0: bit 0 must be 1/);
  });

  it("does not require CR0.NE (this processor's FIXED0 omits it)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CR0, 0x80000031))).toBe(null);
    expect(guest(valid, (v) => v.write(F.GUEST_CR0, 0x80000011))).toBe(null);
  });

  it("rejects CR0 bits a P6 does not have (IA32_VMX_CR0_FIXED1)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CR0, 0x80000051))).toMatch(/CR0: bit 6 must be 0/);
  });

  it("rejects CR0.PG without CR0.PE under unrestricted guest", () => {
    expect(guest(realMode, (v) => v.write(F.GUEST_CR0, 0x80000010))).toMatch(/PG set without PE/);
  });

  it("rejects CR4.PAE and CR4.VMXE (IA32_VMX_CR4_FIXED1)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CR4, 0x20))).toMatch(/CR4: bit 5 must be 0/);
    expect(guest(valid, (v) => v.write(F.GUEST_CR4, 0x2000))).toMatch(/CR4: bit 13 must be 0/);
  });

  it("rejects DR7 bits 63:32 (natural width is 32 bits on an IA-32 processor)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_DR7, 2 ** 32 + 0x400))).toMatch(/GUEST_DR7/);
  });

  it("checks IA32_DEBUGCTL reserved bits only with load debug controls", () => {
    const debugctl = (v: Vmcs) => v.write(F.GUEST_IA32_DEBUGCTL, 1 << 6);
    expect(guest(valid, debugctl)).toBe(null);
    expect(
      guest(valid, (v) => {
        debugctl(v);
        v.write(F.VM_ENTRY_CONTROLS, F.ENTRY_LOAD_DEBUG_CONTROLS);
      }),
    ).toMatch(/IA32_DEBUGCTL/);
  });

  it("rejects a field value that is not an integer", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_LIMIT, Number.NaN))).toMatch(/GUEST_CS_LIMIT/);
    expect(guest(valid, (v) => v.write(F.GUEST_ES_SELECTOR, -8))).toMatch(/GUEST_ES_SELECTOR/);
  });
});

describe("segment registers (SDM 26.3.1.2)", () => {
  const S = /\(SDM 26\.3\.1\.2\)$/;

  it("rejects SS.RPL != CS.RPL", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_SS_SELECTOR, 0x13))).toMatch(/SS\.selector: RPL differs/);
  });

  it("rejects CS type 3 without unrestricted guest", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, DATA_32))).toBe(
      "CS.AR: type 3 not allowed when not unrestricted guest (SDM 26.3.1.2)",
    );
  });

  it("rejects a CS type that is not accessed code (type 10)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, 0xc09a))).toMatch(/CS\.AR: type 10/);
  });

  it("rejects SS types other than 3 and 7 (type 1, read-only data)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_SS_AR_BYTES, 0xc091))).toMatch(/SS\.AR: type 1/);
  });

  it("requires usable DS..GS accessed, and readable if code", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_DS_AR_BYTES, 0xc092))).toMatch(/DS\.AR: type 2 not accessed/);
    expect(guest(valid, (v) => v.write(F.GUEST_FS_AR_BYTES, 0xc099))).toMatch(/FS\.AR: type 9 is an execute-only/);
    expect(guest(valid, (v) => v.write(F.GUEST_ES_AR_BYTES, 0xc09b))).toBe(null);
  });

  it("skips unusable data segments whatever else their AR holds", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_GS_AR_BYTES, UNUSABLE | 0xf00))).toBe(null);
  });

  it("requires CS.DPL = SS.DPL for non-conforming code", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, CODE_32 | 0x20))).toMatch(/non-conforming CS/);
  });

  it("requires CS.DPL <= SS.DPL for conforming code", () => {
    expect(guest(userMode, (v) => v.write(F.GUEST_CS_AR_BYTES, 0xc09f))).toBe(null); // DPL 0 <= 3
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, 0xc09f | 0x60))).toMatch(/conforming CS exceeds/);
  });

  it("requires SS.DPL = SS.RPL without unrestricted guest", () => {
    expect(
      guest(valid, (v) => {
        v.write(F.GUEST_SS_AR_BYTES, DATA_32 | 0x60);
        v.write(F.GUEST_CS_AR_BYTES, 0xc09f); // conforming, so CS.DPL <= SS.DPL holds
      }),
    ).toMatch(/SS\.AR: DPL differs from SS\.RPL/);
  });

  it("requires DS..GS DPL >= RPL for data and non-conforming code", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_DS_SELECTOR, 0x13))).toMatch(/DS\.AR: DPL below/);
    expect(guest(userMode, (v) => v.write(F.GUEST_DS_SELECTOR, 0x13))).toMatch(/DS\.AR: DPL below/);
  });

  it("requires S = 1 and P = 1 (CS always, others if usable)", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_DS_AR_BYTES, DATA_32 & ~0x10))).toMatch(/DS\.AR: S must be 1/);
    expect(guest(valid, (v) => v.write(F.GUEST_SS_AR_BYTES, DATA_32 & ~0x80))).toMatch(/SS\.AR: P must be 1/);
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, CODE_32 & ~0x80))).toMatch(/CS\.AR: P must be 1/);
  });

  it("rejects reserved AR bits 11:8 and 31:17", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, CODE_32 | 0x100))).toMatch(/CS\.AR: reserved bits 11:8/);
    expect(guest(valid, (v) => v.write(F.GUEST_GS_AR_BYTES, DATA_32 | 0x20000))).toMatch(/GS\.AR: reserved bits 31:17/);
  });

  it("requires G consistent with the limit", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_CS_AR_BYTES, CODE_32 & ~0x8000))).toMatch(/CS\.AR: G clear/);
    expect(guest(valid, (v) => v.write(F.GUEST_DS_LIMIT, 0x10000))).toMatch(/DS\.AR: G set/);
    expect(
      guest(valid, (v) => {
        v.write(F.GUEST_DS_LIMIT, 0xfffff);
        v.write(F.GUEST_DS_AR_BYTES, DATA_32 & ~0x8000);
      }),
    ).toBe(null);
  });

  it("in virtual-8086 mode requires base = selector * 16, limit 0xFFFF and AR 0xF3", () => {
    const v86 = () => {
      const v = valid();
      v.write(F.GUEST_RFLAGS, 0x20002);
      for (const [sel, base, limit, ar] of [
        [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
        [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
        [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
        [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
        [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
        [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
      ]) {
        v.write(sel, 0x1234);
        v.write(base, 0x12340);
        v.write(limit, 0xffff);
        v.write(ar, 0xf3);
      }
      return v;
    };
    expect(guest(v86, () => {})).toBe(null);
    expect(guest(v86, (v) => v.write(F.GUEST_FS_BASE, 0x12341))).toMatch(/FS\.base/);
    expect(guest(v86, (v) => v.write(F.GUEST_SS_LIMIT, 0xfffe))).toMatch(/SS\.limit/);
    expect(guest(v86, (v) => v.write(F.GUEST_CS_AR_BYTES, 0xfb))).toMatch(/CS\.AR: not 0xF3/);
  });

  it("allows CS type 3 with DPL 0 under unrestricted guest, not with DPL 1", () => {
    expect(guest(realMode, (v) => v.write(F.GUEST_CS_AR_BYTES, 0xb3))).toMatch(/CS\.AR: DPL must be 0 with type 3/);
  });

  it("requires SS.DPL = 0 when CR0.PE = 0", () => {
    expect(
      guest(realMode, (v) => {
        v.write(F.GUEST_CS_AR_BYTES, 0x9f); // conforming code, DPL 0 <= SS.DPL
        v.write(F.GUEST_SS_AR_BYTES, 0xf3);
      }),
    ).toMatch(/SS\.AR: DPL must be 0 with CS type 3 or CR0\.PE = 0/);
  });

  it("requires TR usable, TI = 0, a busy TSS (type 3 or 11), S = 0", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_TR_AR_BYTES, 0x83))).toBe(null);
    expect(guest(valid, (v) => v.write(F.GUEST_TR_AR_BYTES, 0x89))).toMatch(/TR\.AR: type 9 is not a busy TSS/);
    expect(guest(valid, (v) => v.write(F.GUEST_TR_AR_BYTES, TSS_BUSY_32 | UNUSABLE))).toMatch(/TR must be usable/);
    expect(guest(valid, (v) => v.write(F.GUEST_TR_SELECTOR, 0x1c))).toMatch(/TR\.selector: TI/);
    expect(guest(valid, (v) => v.write(F.GUEST_TR_AR_BYTES, TSS_BUSY_32 | 0x10))).toMatch(/TR\.AR: S must be 0/);
  });

  it("requires a usable LDTR to be an LDT (type 2) with TI = 0", () => {
    const ldt = (v: Vmcs) => {
      v.write(F.GUEST_LDTR_SELECTOR, 0x20);
      v.write(F.GUEST_LDTR_LIMIT, 0xff);
      v.write(F.GUEST_LDTR_AR_BYTES, 0x82);
    };
    expect(guest(valid, ldt)).toBe(null);
    expect(
      guest(valid, (v) => {
        ldt(v);
        v.write(F.GUEST_LDTR_AR_BYTES, 0x83);
      }),
    ).toMatch(/LDTR\.AR: type 3/);
    expect(
      guest(valid, (v) => {
        ldt(v);
        v.write(F.GUEST_LDTR_SELECTOR, 0x24);
      }),
    ).toMatch(S);
  });
});

describe("descriptor-table registers (SDM 26.3.1.3)", () => {
  it("rejects GDTR and IDTR limits above 0xFFFF", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_GDTR_LIMIT, 0x10000))).toMatch(/GDTR\.limit.*26\.3\.1\.3/);
    expect(guest(valid, (v) => v.write(F.GUEST_IDTR_LIMIT, 0x10000))).toMatch(/IDTR\.limit/);
  });
});

describe("RIP and RFLAGS (SDM 26.3.1.4)", () => {
  it("does not check RIP against the CS limit (the guest's first fetch faults instead)", () => {
    expect(
      guest(valid, (v) => {
        v.write(F.GUEST_CS_LIMIT, 0xfff);
        v.write(F.GUEST_CS_AR_BYTES, CODE_32 & ~0x8000);
        v.write(F.GUEST_RIP, 0x10000);
      }),
    ).toBe(null);
  });

  it("requires RFLAGS bit 1 set and bits 3, 5, 15, 22-31 clear", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_RFLAGS, 0))).toMatch(/RFLAGS: bit 1 must be 1/);
    for (const bit of [3, 5, 15, 22, 31]) {
      expect(guest(valid, (v) => v.write(F.GUEST_RFLAGS, (2 | (1 << bit)) >>> 0))).toMatch(
        new RegExp(`RFLAGS: reserved bit ${bit} set`),
      );
    }
  });

  it("rejects RFLAGS.VM with CR0.PE = 0", () => {
    expect(
      guest(realMode, (v) => {
        v.write(F.GUEST_RFLAGS, 0x20002);
        for (const [sel, base, limit, ar] of [
          [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
          [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
          [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
          [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
          [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
          [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
        ]) {
          v.write(sel, 0x1000);
          v.write(base, 0x10000);
          v.write(limit, 0xffff);
          v.write(ar, 0xf3);
        }
      }),
    ).toMatch(/RFLAGS: VM set with CR0\.PE = 0/);
  });

  it("requires RFLAGS.IF when injecting an external interrupt", () => {
    expect(guest(valid, (v) => v.write(F.VM_ENTRY_INTR_INFO_FIELD, inject(F.INTR_TYPE_EXT_INTR, 0x20)))).toMatch(
      /IF clear while injecting/,
    );
  });
});

describe("activity state (SDM 26.3.1.5)", () => {
  it("accepts states 0-3 and rejects 4", () => {
    for (const s of [0, 1, 2, 3]) expect(guest(valid, (v) => v.write(F.GUEST_ACTIVITY_STATE, s))).toBe(null);
    expect(guest(valid, (v) => v.write(F.GUEST_ACTIVITY_STATE, 4))).toMatch(/activity state 4/);
  });

  it("rejects HLT with SS.DPL != 0", () => {
    expect(guest(userMode, (v) => v.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_HLT))).toMatch(/HLT with SS\.DPL/);
  });

  it("requires the active state under blocking by STI or MOV SS", () => {
    expect(
      guest(valid, (v) => {
        v.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_HLT);
        v.write(F.GUEST_INTERRUPTIBILITY_INFO, F.INTERRUPTIBILITY_MOV_SS);
      }),
    ).toMatch(/not active with blocking/);
  });

  it("allows into HLT only external interrupts, NMIs, #DB, #MC and MTF", () => {
    const hlt = (info: number) =>
      guest(valid, (v) => {
        v.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_HLT);
        v.write(F.GUEST_RFLAGS, 0x202);
        v.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
      });
    expect(hlt(inject(F.INTR_TYPE_EXT_INTR, 0x30))).toBe(null);
    expect(hlt(inject(F.INTR_TYPE_NMI, 2))).toBe(null);
    expect(hlt(inject(F.INTR_TYPE_HW_EXCEPTION, 1))).toBe(null);
    expect(hlt(inject(F.INTR_TYPE_HW_EXCEPTION, 18))).toBe(null);
    expect(hlt(inject(7, 0))).toBe(null);
    expect(hlt(inject(F.INTR_TYPE_HW_EXCEPTION, 13, true))).toMatch(/activity state 1 cannot receive/);
    expect(hlt(inject(F.INTR_TYPE_SW_INTR, 0x80))).toMatch(/activity state 1 cannot receive/);
  });

  it("allows into shutdown only NMIs and #MC, into wait-for-SIPI nothing", () => {
    const into = (state: number, info: number) =>
      guest(valid, (v) => {
        v.write(F.GUEST_ACTIVITY_STATE, state);
        v.write(F.GUEST_RFLAGS, 0x202);
        v.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
      });
    expect(into(F.ACTIVITY_SHUTDOWN, inject(F.INTR_TYPE_NMI, 2))).toBe(null);
    expect(into(F.ACTIVITY_SHUTDOWN, inject(F.INTR_TYPE_HW_EXCEPTION, 18))).toBe(null);
    expect(into(F.ACTIVITY_SHUTDOWN, inject(F.INTR_TYPE_EXT_INTR, 0x30))).toMatch(/activity state 2/);
    expect(into(F.ACTIVITY_WAIT_SIPI, inject(F.INTR_TYPE_NMI, 2))).toMatch(/activity state 3/);
  });
});

describe("interruptibility state (SDM 26.3.1.5, Table 24-3)", () => {
  const blocking = (bits: number, more?: (v: Vmcs) => void) =>
    guest(valid, (v) => {
      v.write(F.GUEST_RFLAGS, 0x202);
      v.write(F.GUEST_INTERRUPTIBILITY_INFO, bits);
      more?.(v);
    });

  it("rejects reserved bits 31:4 (no SGX enclave interruption)", () => {
    expect(blocking(0x10)).toMatch(/reserved bits 31:4/);
  });

  it("rejects blocking by both STI and MOV SS", () => {
    expect(blocking(3)).toMatch(/both STI and MOV SS/);
  });

  it("rejects blocking by STI with IF = 0", () => {
    expect(guest(valid, (v) => v.write(F.GUEST_INTERRUPTIBILITY_INFO, F.INTERRUPTIBILITY_STI))).toMatch(
      /STI with RFLAGS\.IF = 0/,
    );
    expect(blocking(F.INTERRUPTIBILITY_STI)).toBe(null);
  });

  it("rejects blocking by SMI outside SMM", () => {
    expect(blocking(F.INTERRUPTIBILITY_SMI)).toMatch(/SMI outside SMM/);
  });

  it("rejects STI or MOV SS blocking while injecting an external interrupt", () => {
    expect(
      blocking(F.INTERRUPTIBILITY_STI, (v) => v.write(F.VM_ENTRY_INTR_INFO_FIELD, inject(F.INTR_TYPE_EXT_INTR, 0x20))),
    ).toMatch(/injecting an external interrupt/);
  });

  it("rejects MOV SS blocking while injecting an NMI", () => {
    expect(
      blocking(F.INTERRUPTIBILITY_MOV_SS, (v) => v.write(F.VM_ENTRY_INTR_INFO_FIELD, inject(F.INTR_TYPE_NMI, 2))),
    ).toMatch(/MOV SS while injecting an NMI/);
  });

  it("rejects NMI blocking while injecting an NMI only with virtual NMIs", () => {
    const nmi = (pin: number) =>
      blocking(F.INTERRUPTIBILITY_NMI, (v) => {
        v.write(F.PIN_BASED_VM_EXEC_CONTROL, pin);
        v.write(F.VM_ENTRY_INTR_INFO_FIELD, inject(F.INTR_TYPE_NMI, 2));
      });
    expect(nmi(F.PIN_NMI_EXITING)).toBe(null);
    expect(nmi(F.PIN_NMI_EXITING | F.PIN_VIRTUAL_NMIS)).toMatch(/virtual-NMI blocking/);
  });
});

describe("pending debug exceptions (SDM 26.3.1.5, Table 24-4)", () => {
  it("rejects reserved bits 11:4, 13, 15 and 31:16 (no RTM)", () => {
    for (const bit of [4, 11, 13, 15, 16, 31]) {
      expect(guest(valid, (v) => v.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 2 ** bit))).toMatch(
        new RegExp(`reserved bit ${bit} set`),
      );
    }
    expect(guest(valid, (v) => v.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x500f))).toBe(null);
  });

  it("under STI blocking requires BS = RFLAGS.TF (with BTF = 0)", () => {
    const sti = (rflags: number, pending: number) =>
      guest(valid, (v) => {
        v.write(F.GUEST_RFLAGS, rflags);
        v.write(F.GUEST_INTERRUPTIBILITY_INFO, F.INTERRUPTIBILITY_STI);
        v.write(F.GUEST_PENDING_DBG_EXCEPTIONS, pending);
      });
    expect(sti(0x302, 0x4000)).toBe(null);
    expect(sti(0x302, 0)).toMatch(/BS clear with RFLAGS\.TF = 1/);
    expect(sti(0x202, 0x4000)).toMatch(/BS set with RFLAGS\.TF = 0/);
    expect(sti(0x202, 0)).toBe(null);
  });

  it("requires BS = 0 with BTF = 1 in HLT", () => {
    expect(
      guest(valid, (v) => {
        v.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_HLT);
        v.write(F.GUEST_RFLAGS, 0x102);
        v.write(F.GUEST_IA32_DEBUGCTL, 2);
        v.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x4000);
      }),
    ).toMatch(/BS set with RFLAGS\.TF = 0 or BTF = 1/);
  });
});

describe("VMCS link pointer (SDM 26.3.1.5)", () => {
  it("accepts only encodings of FFFFFFFF_FFFFFFFFH", () => {
    for (const p of [-1, 0xffffffff, Number.MAX_SAFE_INTEGER, 2 ** 64]) {
      expect(guest(valid, (v) => v.write(F.VMCS_LINK_POINTER, p))).toBe(null);
    }
    expect(guest(valid, (v) => v.write(F.VMCS_LINK_POINTER, 0))).toMatch(/VMCS link pointer/);
    expect(guest(valid, (v) => v.write(F.VMCS_LINK_POINTER, 0x1000))).toMatch(/VMCS link pointer/);
  });
});

function v0(v: Vmcs, field: number): number {
  return v.read(field);
}
