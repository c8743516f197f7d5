// Reply validation (DESIGN.md §6 "answer garbage"): the oracle is the SDM's
// field layout (§24.8.3 interruption information: 8-bit vector, 3-bit type)
// and the rule that nothing of a refused reply reaches the VMCS.
import { describe, expect, it } from "vitest";
import { VmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import type { GuestContext } from "./state-groups.js";
import { applyReply } from "./vm-reply.js";

const ctx = (): GuestContext => ({ vmcs: new Vmcs(), gpr: new Uint32Array(8), cr2: 0 });
const enc = (r: Parameters<typeof VmReply.encode>[0]) => VmReply.encode(r).finish();

describe("applyReply", () => {
  it("writes exactly the groups the reply MTD names", () => {
    const c = ctx();
    c.vmcs.write(F.GUEST_RFLAGS, 0x202);
    const r = applyReply(
      c,
      enc({ mtd: Mtd.GPR_ACDB | Mtd.RIP_LEN, state: { eax: 0xdeadbeef, ebx: 7, eip: 0x1234, eflags: 0x2 } }),
    );
    expect(r.ok).toBe(true);
    expect(c.gpr[0]).toBe(0xdeadbeef);
    expect(c.gpr[3]).toBe(7);
    expect(c.vmcs.read(F.GUEST_RIP)).toBe(0x1234);
    expect(c.vmcs.read(F.GUEST_RFLAGS)).toBe(0x202); // RFLAGS not named: untouched
  });

  it("writes segment registers as selector, base, limit and access rights", () => {
    const c = ctx();
    const seg = { sel: 0x10, base: 0x1000, limit: 0xfffff, ar: 0xc093 };
    const r = applyReply(c, enc({ mtd: Mtd.DS_ES, state: { ds: seg, es: seg } }));
    expect(r.ok).toBe(true);
    expect(
      [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES].map((f) => c.vmcs.read(f)),
    ).toEqual([0x10, 0x1000, 0xfffff, 0xc093]);
  });

  it("refuses bytes that are not a VmReply", () => {
    const r = applyReply(ctx(), new Uint8Array([0xff, 0xff, 0xff]));
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.reason).toMatch(/^malformed reply/);
  });

  it("refuses an MTD naming the exit qualification, which is read-only", () => {
    const c = ctx();
    const r = applyReply(c, enc({ mtd: Mtd.QUAL | Mtd.GPR_ACDB, state: { eax: 1 } }));
    expect(r).toEqual({ ok: false, reason: "reply MTD names state a VMM may not set: QUAL" });
    expect(c.gpr[0]).toBe(0); // nothing applied
  });

  it("refuses MTD bits NOVA does not define", () => {
    const r = applyReply(ctx(), enc({ mtd: 1 << 25 }));
    expect(r).toEqual({ ok: false, reason: "reply MTD names state a VMM may not set: 0x2000000" });
  });

  it("refuses an MTD naming segments the message does not carry", () => {
    const r = applyReply(ctx(), enc({ mtd: Mtd.CS_SS, state: { cs: { sel: 8 } } }));
    expect(r).toEqual({ ok: false, reason: "reply MTD names CS_SS but has no ss" });
  });

  it("refuses an injection vector wider than the 8-bit field", () => {
    const r = applyReply(ctx(), enc({ injectValid: true, inject: { vector: 256, type: 0 } }));
    expect(r).toEqual({ ok: false, reason: "injection vector 256 exceeds 255" });
  });

  it("refuses an injection type wider than the 3-bit field", () => {
    const r = applyReply(ctx(), enc({ injectValid: true, inject: { vector: 13, type: 9 } }));
    expect(r).toEqual({ ok: false, reason: "injection type 9 exceeds 7" });
  });

  it("encodes an injected exception as the SDM's interruption-information field", () => {
    const c = ctx();
    const r = applyReply(c, enc({ injectValid: true, inject: { vector: 13, type: 3, hasError: true, error: 0x18 } }));
    expect(r.ok).toBe(true);
    // valid(31) | deliver error code(11) | type 3 << 8 | vector 13
    expect(c.vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD)).toBe((0x8000_0000 | 0x800 | 0x300 | 13) >>> 0);
    expect(c.vmcs.read(F.VM_ENTRY_EXCEPTION_ERROR_CODE)).toBe(0x18);
  });

  it("refuses a console flood", () => {
    const r = applyReply(ctx(), enc({ consoleOut: new Uint8Array(64 * 1024 + 1) }));
    expect(r).toEqual({ ok: false, reason: "console output of 65537 bytes in one reply" });
  });

  it("passes stop, exit code, deadline and window requests through", () => {
    const r = applyReply(
      ctx(),
      enc({ stop: true, stopReason: "halted", exitCode: 3, deadline: 5000, wantIntrWindow: true }),
    );
    expect(r).toMatchObject({
      ok: true,
      effects: { stop: true, stopReason: "halted", exitCode: 3, deadline: 5000, wantIntrWindow: true },
    });
  });

  // IRQ lines (placement irqchip): the 8259A pair has ISA inputs 0-15; an
  // 8259A input keeps only an edge latch and a level (datasheet, "Interrupt
  // Sequence"), so three changes per line (fall, rise, fall) are all a VMM needs.
  it("passes IRQ line changes through in order, and a platform reset", () => {
    const lines = [
      { irq: 4, level: true },
      { irq: 8, level: false },
      { irq: 4, level: false },
    ];
    const r = applyReply(ctx(), enc({ irqLines: lines, irqchipReset: true }));
    expect(r).toMatchObject({ ok: true, effects: { irqLines: lines, irqchipReset: true } });
  });

  it("refuses an IRQ line beyond the 8259A pair's 16 inputs", () => {
    const r = applyReply(ctx(), enc({ irqLines: [{ irq: 16, level: true }] }));
    expect(r).toEqual({ ok: false, reason: "IRQ line 16 is not an ISA line 0-15" });
  });

  it("accepts three changes for each of the 16 lines and refuses one more", () => {
    const all = Array.from({ length: 16 * 3 }, (_, i) => ({ irq: i % 16, level: i % 2 === 0 }));
    expect(applyReply(ctx(), enc({ irqLines: all })).ok).toBe(true);
    const r = applyReply(ctx(), enc({ irqLines: [...all, { irq: 0, level: true }] }));
    expect(r).toEqual({ ok: false, reason: "49 IRQ line changes in one reply (limit 48)" });
  });
});
