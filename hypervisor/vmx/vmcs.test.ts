// VMCS field storage: every encoding of SDM Appendix B keeps its own value
// (no two encodings share a slot), as VMREAD/VMWRITE require.
import { describe, expect, it } from "vitest";
import { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

// Field encodings are the constants that are not control, interruption or
// state bits (those share prefixes with three encodings named here).
const BIT_PREFIX = /^(PIN_|CPU_|SEC_|EXIT_|ENTRY_|INTR_|INTERRUPTIBILITY_|ACTIVITY_)/;
const ENCODINGS_WITH_BIT_PREFIX = ["PIN_BASED_VM_EXEC_CONTROL", "CPU_BASED_VM_EXEC_CONTROL", "EXIT_QUALIFICATION"];
const fields = Object.entries(F)
  .filter(([k]) => !BIT_PREFIX.test(k) || ENCODINGS_WITH_BIT_PREFIX.includes(k))
  .map(([, v]) => v as number);

describe("Vmcs", () => {
  it("keeps every field encoding apart", () => {
    const vmcs = new Vmcs();
    expect(fields.length).toBeGreaterThan(80);
    for (const [i, f] of fields.entries()) vmcs.write(f, 1000 + i);
    for (const [i, f] of fields.entries()) expect(vmcs.read(f), `field 0x${f.toString(16)}`).toBe(1000 + i);
  });

  it("reads 0 from a field never written and keeps 64-bit values below 2^53", () => {
    const vmcs = new Vmcs();
    expect(vmcs.read(F.GUEST_RIP)).toBe(0);
    vmcs.write(F.GUEST_PHYSICAL_ADDRESS, 2 ** 40 + 5);
    expect(vmcs.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(2 ** 40 + 5);
  });
});
