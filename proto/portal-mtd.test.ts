// Oracle: DESIGN.md §2 "Asynchronous events" and the SDM fields the VMM's
// interrupt delivery reads after every exit: RFLAGS.IF (Vol. 3A §6.8.1), the
// interruptibility and activity state (Vol. 3C §24.4.2, MTD STA), the
// IDT-vectoring information (§27.2.4, MTD INJ) and the virtual TSC (MTD TSC);
// NOVA's classic MTD bit numbering (DESIGN.md §3).
import { describe, expect, it } from "vitest";
import { EMULATOR_MTD } from "../vmm/emulator/handlers.js";
import { Mtd } from "./mtd.js";
import { INTERRUPT_MTD, PORTAL_REASONS, portalMtd } from "./portal-mtd.js";

describe("portalMtd", () => {
  it("gives every portal RFLAGS, STA, TSC and INJ, whatever its reason", () => {
    const need = Mtd.RFLAGS | Mtd.STA | Mtd.TSC | Mtd.INJ;
    for (const reason of PORTAL_REASONS) expect(portalMtd(reason) & need).toBe(need);
    expect(INTERRUPT_MTD & need).toBe(need);
  });

  it("gives EPT violations (48) and I/O exits (30) what the instruction emulator reads", () => {
    expect(portalMtd(48) & EMULATOR_MTD).toBe(EMULATOR_MTD);
    expect(portalMtd(30) & EMULATOR_MTD).toBe(EMULATOR_MTD);
  });

  it("keeps the handlers' own needs: CPUID GPR_ACDB, VMCALL CS_SS, RDMSR SYSENTER", () => {
    expect(portalMtd(10) & Mtd.GPR_ACDB).toBe(Mtd.GPR_ACDB);
    expect(portalMtd(18) & Mtd.CS_SS).toBe(Mtd.CS_SS);
    expect(portalMtd(31) & Mtd.SYSENTER).toBe(Mtd.SYSENTER);
  });
});
