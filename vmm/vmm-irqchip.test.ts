// A VMM whose VM has placement irqchip: the 8259A pair and the 8254 run in
// the hypervisor, so this VMM must leave their ports alone (one model per
// port), report its devices' IRQ lines instead of injecting, and say when it
// reset the platform. Oracles: the ISA bus (an unclaimed port reads all
// ones), the PC16550D datasheet (THRE interrupt with IER bit 1, driven onto
// IRQ 4 through MCR OUT2 on a PC), the 8042 (command FEh pulses the reset
// line), the SDM Table 27-5 I/O qualification.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../proto/exit-reason.js";
import { makeVmm, ring0State, roundTrip } from "./testing/exit-messages.js";

const EIP = 0x10_0040;
const ioQual = (port: number, isIn: boolean) => ((port << 16) | (isIn ? 0x08 : 0)) >>> 0;

function io(vmm: ReturnType<typeof makeVmm>, port: number, isIn: boolean, value = 0) {
  return roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
    qual: ioQual(port, isIn),
    instLen: 2,
    state: ring0State({ eip: EIP, eax: value, eflags: 0x202 }),
  });
}

const irqchipVmm = () => makeVmm(16 << 20, { irqchip: true } as Parameters<typeof makeVmm>[1]);

describe("VMM of placement irqchip", () => {
  it("decodes none of the PIC, ELCR and PIT ports: they read all ones, as unclaimed ISA ports", () => {
    const vmm = irqchipVmm();
    for (const port of [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x61]) {
      expect(io(vmm, port, true).state!.eax! & 0xff, `port 0x${port.toString(16)}`).toBe(0xff);
    }
    expect(vmm.platform.hasIrqchip).toBe(false);
  });

  it("reports COM1's interrupt as IRQ 4 going high and injects nothing itself", () => {
    const vmm = irqchipVmm();
    io(vmm, 0x3fc, false, 0x08); // MCR: OUT2 gates the interrupt onto IRQ 4
    const r = io(vmm, 0x3f9, false, 0x02); // IER: THR empty interrupt; the THR is empty
    expect(r.irqLines).toEqual([{ irq: 4, level: true }]);
    expect(r.injectValid).toBe(false);
    expect(r.wantIntrWindow).toBe(false);
    expect(io(vmm, 0x3fa, true).irqLines).toEqual([{ irq: 4, level: false }]); // reading IIR clears THRE
  });

  it("tells the hypervisor that the 8042's reset command reset the platform", () => {
    const vmm = makeVmm(16 << 20, {
      irqchip: true,
      image: Uint8Array.of(0xfa, 0xf4),
      format: "flat",
    } as Parameters<typeof makeVmm>[1]);
    roundTrip(vmm, ExitReason.STARTUP);
    const r = io(vmm, 0x64, false, 0xfe);
    expect(r.irqchipReset).toBe(true);
    expect(r.state!.eip).toBe(0x100000); // the startup state again
    expect(io(vmm, 0x80, false).irqchipReset).toBe(false); // once
  });

  it("keeps its checkpoint to its own devices and restores it", () => {
    const a = irqchipVmm();
    io(a, 0x3fc, false, 0x08);
    const saved = a.save() as { platform: Record<string, unknown> };
    expect(saved.platform.pic).toBeUndefined();
    expect(saved.platform.pit).toBeUndefined();
    const b = irqchipVmm();
    b.restore(saved);
    expect(b.save()).toEqual(saved);
  });
});
