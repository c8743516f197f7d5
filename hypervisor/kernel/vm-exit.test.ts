// The portal's MTD selects which state travels (DESIGN.md §2 step 4, NOVA's
// MTD semantics): groups not named are absent, named ones carry the VMCS
// values (SDM App. B encodings) and the saved GPRs.
import { describe, expect, it } from "vitest";
import { VmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import { encodeVmExit } from "./vm-exit.js";

function context() {
  const vmcs = new Vmcs();
  vmcs.write(F.GUEST_RIP, 0x100010);
  vmcs.write(F.VM_EXIT_INSTRUCTION_LEN, 2);
  vmcs.write(F.GUEST_RFLAGS, 0x202);
  vmcs.write(F.EXIT_QUALIFICATION, 0x03f80000);
  vmcs.write(F.GUEST_CS_SELECTOR, 8);
  vmcs.write(F.GUEST_CS_AR_BYTES, 0xc09b);
  const gpr = Uint32Array.from([0x41, 1, 0x3f8, 3, 4, 5, 6, 7]);
  return { vmcs, gpr, cr2: 0x1234 };
}

const header = { vm: 2, vcpu: 0, reason: 30, tsc: 99, seq: 5 };

describe("encodeVmExit", () => {
  it("carries only the groups the MTD names", () => {
    const e = VmExit.decode(encodeVmExit(context(), { ...header, mtd: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.QUAL }));
    expect(e.state?.eax).toBe(0x41);
    expect(e.state?.edx).toBe(0x3f8);
    expect(e.state?.eip).toBe(0x100010);
    expect(e.instLen).toBe(2);
    expect(e.qual).toBe(0x03f80000);
    expect(e.state?.eflags).toBe(0); // RFLAGS not named
    expect(e.state?.esi).toBe(0); // GPR_BSD not named
    expect(e.state?.cs).toBeNull();
    expect(e.tsc).toBe(0); // TSC not named
  });

  it("carries segments, CR2 and the TSC when named", () => {
    const e = VmExit.decode(encodeVmExit(context(), { ...header, mtd: Mtd.CS_SS | Mtd.CR | Mtd.TSC | Mtd.GPR_BSD }));
    expect(e.state?.cs).toMatchObject({ sel: 8, ar: 0xc09b });
    expect(e.state?.cr2).toBe(0x1234);
    expect(e.state?.esi).toBe(6);
    expect(e.tsc).toBe(99);
    expect(e.qual).toBe(0);
  });

  it("names the VM, vCPU, reason, MTD and sequence number", () => {
    const e = VmExit.decode(encodeVmExit(context(), { ...header, mtd: Mtd.RFLAGS }));
    expect([e.vm, e.vcpu, e.reason, e.mtd, e.seq]).toEqual([2, 0, 30, Mtd.RFLAGS, 5]);
  });
});
