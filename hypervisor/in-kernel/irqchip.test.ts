// Placement irqchip on the kernel side: real guest code on the simulated
// processor, the kernel's scheduler and exit dispatch, the 8259A and 8254 in
// the hypervisor, and a scripted VMM that records what reaches it.
// Oracles: the 8259A datasheet (ICW1-4 initialisation, vector = ICW2 base +
// IR, non-specific EOI), the 8254 datasheet (mode 2: one OUT pulse every N
// CLK cycles; the PC's CLK is 1.193182 MHz, DESIGN.md §5's virtual TSC runs
// at 100 MHz), the SDM (Vol. 3C Table 27-5 I/O qualification, §25.5.1 the
// preemption timer exits when it counts down to 0, §26.6.5 an injected event
// ends the HLT state; Vol. 2A IN keeps EAX's upper bits) and KVM's rule that
// an in-kernel irqchip finishes PIC/PIT port I/O and HLT without the VMM.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../../proto/exit-reason.js";
import { type IVmReply, VmExit, VmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { portalMtd } from "../../proto/portal-mtd.js";
import type { Ec } from "../kernel/ec.js";
import { ExitDispatcher } from "../kernel/exit-dispatch.js";
import type { InKernelDevices } from "../kernel/in-kernel-devices.js";
import { Scheduler } from "../kernel/scheduler.js";
import { initVcpuControls } from "../kernel/vcpu-controls.js";
import { VcpuRun } from "../kernel/vcpu-run.js";
import { gate, get32, KCODE, protectedModeTables, setGate } from "../vmx/test-descriptors.js";
import { testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";
import { reinjectVectoring } from "./interrupt-delivery.js";
import { InKernelIrqchip } from "./irqchip.js";

const PIT_HZ = 1_193_182;
const TSC_HZ = 100_000_000;
const DIVISOR = 11932;
const COUNT = 0x4000;
const STAMPS = 0x4010;
const HANDLER = 0x2000;
const VECTOR_BASE = 0x20;

const out = (port: number, value: number) => [0xb0, value, 0xe6, port]; // MOV AL, imm8; OUT imm8, AL
const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** ICW1 (edge, cascade, ICW4), ICW2 vector base, ICW3 slave on IR2, ICW4 8086 mode; OCW1 mask. */
const picInit = (mask: number) => [
  ...out(0x20, 0x11),
  ...out(0x21, VECTOR_BASE),
  ...out(0x21, 0x04),
  ...out(0x21, 0x01),
  ...out(0x21, mask),
];

/** Counter 0, LSB then MSB, mode 2 (control word 0x34), divisor N. */
const pitInit = (n: number) => [...out(0x43, 0x34), ...out(0x40, n & 0xff), ...out(0x40, n >>> 8)];

/** `sti; hlt; cli` until the handler counted `ticks`, then OUT to port 0xF4 (a VMM port). */
function haltLoop(ticks: number): number[] {
  const body = [0xfb, 0xf4, 0xfa, 0x83, 0x3d, ...le32(COUNT), ticks]; // sti; hlt; cli; cmp dword [COUNT], ticks
  const jb = [0x72, -(body.length + 2) & 0xff]; // jb back to sti
  return [...body, ...jb, 0xe6, 0xf4];
}

/** The interrupt handler: the TSC of each interrupt into STAMPS[count], count + 1, non-specific EOI (OCW2 0x20), IRET. */
const handler = [
  0x50, // push eax
  0x52, // push edx
  0x0f,
  0x31, // rdtsc
  0x8b,
  0x15,
  ...le32(COUNT), // mov edx, [COUNT]
  0x89,
  0x04,
  0x95,
  ...le32(STAMPS), // mov [STAMPS + edx*4], eax
  0xff,
  0x05,
  ...le32(COUNT), // inc dword [COUNT]
  ...out(0x20, 0x20),
  0x5a, // pop edx
  0x58, // pop eax
  0xcf, // iret
];

interface Seen {
  reason: number;
  tsc: number;
  qual: number;
  /** EIP past the instruction (SDM §27.2.5: exit instruction length). */
  next: number;
}

/**
 * One VM: `code` at 0x1000, the handler at HANDLER for vectors 0x20-0x2F,
 * the kernel's scheduler on the real processor, and a VMM that answers with
 * `reply` (default: the OUT to 0xF4 stops the VM, everything else is empty).
 */
async function runVm(code: number[], reply: (e: Seen) => IVmReply = stopAtF4, inKernel = true) {
  const m = testMachine();
  initVcpuControls(m.vmcs, m.ept, 1); // the controls the kernel gives every vCPU (TSC offsetting among them)
  protectedModeTables(m);
  for (let v = VECTOR_BASE; v < VECTOR_BASE + 16; v++) setGate(m, v, gate(KCODE, HANDLER, 0));
  m.load(0x1000, code);
  m.load(HANDLER, handler);
  const ec = { recallPending: false, scs: [] } as unknown as Ec;
  const vcpu = new VcpuRun(ec, m.vmcs, 0, 0, 1, 1_000_000);
  const chip = new InKernelIrqchip();
  if (inKernel) vcpu.inKernel = chip;
  const seen: Seen[] = [];
  let outcome = "";
  const dispatch = new ExitDispatcher(
    (_ec, reason) => ({
      mtd: portalMtd(reason),
      channel: {
        transport: "scripted VMM",
        call: async (bytes) => {
          const e = VmExit.decode(bytes);
          const s = {
            reason: e.reason,
            tsc: Number(e.tsc),
            qual: e.qual ?? 0,
            next: (e.state?.eip ?? 0) + (e.instLen ?? 0),
          };
          seen.push(s);
          return VmReply.encode(reply(s)).finish();
        },
      },
    }),
    { console: () => {}, stopped: (_v, o) => (outcome = o.reason) },
  );
  const sched = new Scheduler(m.cpu, dispatch);
  sched.add(vcpu);
  await sched.run();
  return {
    m,
    vcpu,
    chip,
    seen,
    outcome,
    stamps: (n: number) => Array.from({ length: n }, (_, i) => get32(m, STAMPS + 4 * i)),
  };
}

function stopAtF4(e: Seen): IVmReply {
  if (e.reason === ExitReason.IO_INSTRUCTION && e.qual >>> 16 === 0xf4) return { stop: true, stopReason: "done" };
  return {};
}

/** TSC ticks of `cycles` PIT clock cycles. */
const ticksOf = (cycles: number) => (cycles * TSC_HZ) / PIT_HZ;

describe("placement irqchip: the 8259A and the 8254 in the hypervisor", () => {
  it("finishes PIC and PIT port I/O and HLT without the VMM; PIT ticks wake HLT one period apart", async () => {
    const code = [...picInit(0xfe), ...pitInit(DIVISOR)];
    const r = await runVm([...code, ...haltLoop(3)]);
    expect(r.outcome).toBe("done");
    // The VMM saw the startup event and the OUT to its port 0xF4, nothing else.
    expect(r.seen.map((s) => s.reason)).toEqual([ExitReason.STARTUP, ExitReason.IO_INSTRUCTION]);
    expect(r.vcpu.exitsForwarded).toBe(2);
    // 8 OUTs of the setup, 3 HLTs, 3 timer exits, 3 EOIs.
    expect(r.vcpu.exitsInHypervisor).toBe(8 + 3 + 3 + 3);
    expect(r.vcpu.exitCounts.get(ExitReason.HLT)).toBe(3);
    const [a, b, c] = r.stamps(3);
    for (const period of [b - a, c - b]) expect(Math.abs(period - ticksOf(DIVISOR))).toBeLessThanOrEqual(1);
  });

  it("arms the preemption timer for the earlier of the VMM's deadline and the PIT's", async () => {
    const code = [...picInit(0xfe), ...pitInit(DIVISOR)];
    const vmmDeadline = Math.round(ticksOf(DIVISOR) * 2.5);
    const r = await runVm([...code, ...haltLoop(4)], (e) =>
      e.reason === ExitReason.STARTUP ? { deadline: vmmDeadline } : stopAtF4(e),
    );
    expect(r.outcome).toBe("done");
    // The VMM's own deadline comes to it, exactly on time, between the PIT's ticks.
    const timer = r.seen.filter((s) => s.reason === ExitReason.PREEMPTION_TIMER);
    expect(timer.map((s) => s.tsc)).toEqual([vmmDeadline]);
    const stamps = r.stamps(4);
    expect(stamps[1]).toBeLessThan(vmmDeadline);
    expect(stamps[2]).toBeGreaterThan(vmmDeadline);
    expect(Math.abs(stamps[3] - stamps[2] - ticksOf(DIVISOR))).toBeLessThanOrEqual(1);
  });

  it("reads the IMR back with IN AL, 21h, keeping EAX's upper 24 bits", async () => {
    // mov eax, 0x12345600; in al, 0x21; out 0xf4, al (the VM ends with EAX as the IN left it).
    const code = [...picInit(0xa5), 0xb8, ...le32(0x12345600), 0xe4, 0x21, 0xe6, 0xf4];
    const r = await runVm(code);
    expect(r.outcome).toBe("done");
    expect(r.vcpu.gpr[0]).toBe(0x123456a5);
  });

  it("takes a VMM's IRQ line from its reply: IRQ 4 is injected as vector base + 4", async () => {
    // Unmask IRQ 4 only; OUT to F9h (a VMM port: its reply raises IRQ 4); sti; nop; cli; OUT to F4h.
    const code = [...picInit(0xef), ...out(0xf9, 0), 0xfb, 0x90, 0xfa, 0xe6, 0xf4];
    const r = await runVm(code, (e) =>
      e.reason === ExitReason.IO_INSTRUCTION && e.qual >>> 16 === 0xf9
        ? { mtd: Mtd.RIP_LEN, state: { eip: e.next }, irqLines: [{ irq: 4, level: true }] }
        : stopAtF4(e),
    );
    expect(r.outcome).toBe("done");
    expect(get32(r.m, COUNT)).toBe(1);
    expect(r.chip.controller.hasInterrupt()).toBe(false); // in service, EOI'd by the handler
  });

  it("refuses a reply whose IRQ line is not an ISA line 0-15, for that VM only", async () => {
    const code = [...picInit(0xef), ...out(0xf9, 0), 0xe6, 0xf4];
    const r = await runVm(code, (e) =>
      e.reason === ExitReason.IO_INSTRUCTION && e.qual >>> 16 === 0xf9 ? { irqLines: [{ irq: 16, level: true }] } : {},
    );
    expect(r.outcome).toBe("VMM reply refused: IRQ line 16 is not an ISA line 0-15");
  });

  it("refuses IRQ lines from the VMM of a VM whose interrupt controller is in the VMM (split)", async () => {
    const code = [...out(0xf9, 0), 0xe6, 0xf4];
    const r = await runVm(
      code,
      (e) => (e.reason === ExitReason.IO_INSTRUCTION ? { irqLines: [{ irq: 4, level: true }] } : {}),
      false,
    );
    expect(r.outcome).toBe(
      "VMM reply refused: IRQ lines for an interrupt controller in the hypervisor, which this VM does not have",
    );
  });

  it("ends the VM when it halts with interrupts off (nothing but an NMI could wake it)", async () => {
    const r = await runVm([0xfa, 0xf4]); // cli; hlt
    expect(r.outcome).toBe("halted");
    expect(r.seen.map((s) => s.reason)).toEqual([ExitReason.STARTUP]);
  });

  it("stops the VM on string I/O to its ports, which only the VMM's emulator could carry out", async () => {
    // mov dx, 0x20; outsb
    const r = await runVm([0x66, 0xba, 0x20, 0x00, 0x6e]);
    expect(r.outcome).toMatch(/^OUTS at port 0x20 reaches the 8259A\/8254 in the hypervisor/);
  });
});

describe("reinjectVectoring (SDM §27.2.4)", () => {
  /** A VMCS after an exit of `reason` that interrupted the delivery of #PF (vector 14, type 3, error code 2). */
  function interrupted(reason: number) {
    const vmcs = testMachine().vmcs;
    vmcs.write(F.VM_EXIT_REASON, reason);
    vmcs.write(F.IDT_VECTORING_INFO_FIELD, (F.INTR_INFO_VALID | F.INTR_INFO_DELIVER_ERROR | (3 << 8) | 14) >>> 0);
    vmcs.write(F.IDT_VECTORING_ERROR_CODE, 2);
    return vmcs;
  }

  it("re-injects the interrupted event with its error code", () => {
    const vmcs = interrupted(ExitReason.EPT_VIOLATION);
    expect(reinjectVectoring(vmcs)).toBe(true);
    expect(vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD)).toBe(
      (F.INTR_INFO_VALID | F.INTR_INFO_DELIVER_ERROR | 0x300 | 14) >>> 0,
    );
    expect(vmcs.read(F.VM_ENTRY_EXCEPTION_ERROR_CODE)).toBe(2);
  });

  it("leaves an event the VMM injects in place", () => {
    const vmcs = interrupted(ExitReason.EPT_VIOLATION);
    vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | (3 << 8) | 13) >>> 0);
    expect(reinjectVectoring(vmcs)).toBe(false);
    expect(vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & 0xff).toBe(13);
  });

  it("does not re-inject after a task switch through a task gate: the switch was the delivery (§25.4.2)", () => {
    const vmcs = interrupted(ExitReason.TASK_SWITCH);
    expect(reinjectVectoring(vmcs)).toBe(false);
    expect(vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID).toBe(0);
  });
});

describe("InKernelIrqchip resets", () => {
  /** Masks every IR line on the master (OCW1 after ICW1-4): IMR reads back 0xFF. */
  function programmed(): InKernelIrqchip {
    const chip = new InKernelIrqchip();
    for (const [port, v] of [
      [0x20, 0x11],
      [0x21, 0x20],
      [0x21, 0x04],
      [0x21, 0x01],
      [0x21, 0xff],
    ])
      chip.controller.ioWrite(port, 1, v);
    expect(chip.controller.ioRead(0x21, 1)).toBe(0xff);
    return chip;
  }

  it("with the VMM's platform reset (the PC reset line reaches every device): IMR 0, no PIT deadline", () => {
    const chip = programmed();
    const v = { vmcs: testMachine().vmcs, gpr: new Uint32Array(8), cr2: 0, vtime: 0 };
    chip.afterReply(v, true, [{ irq: 4, level: true }]);
    expect(chip.controller.ioRead(0x21, 1)).toBe(0);
    expect(chip.nextDeadline()).toBe(0);
    // The line changes after the reset reach the new controller (IR4 requested, ICW1 not yet written).
    expect(chip.controller.ioRead(0x20, 1) & 0x10).toBe(0x10);
  });

  it("when the guest reboots for a VMM fault (policy reset, VcpuRun.reset)", () => {
    const chip = programmed();
    const v = new VcpuRun({ recallPending: false, scs: [] } as unknown as Ec, testMachine().vmcs, 0, 0, 1, 1000);
    v.inKernel = chip;
    v.reset();
    expect(chip.controller.ioRead(0x21, 1)).toBe(0);
  });
});

describe("VcpuRun.timerDeadline", () => {
  const models = (deadline: number): InKernelDevices => ({
    name: "fixed deadline",
    handleExit: () => "forward",
    afterReply: () => {},
    nextDeadline: () => deadline,
    reset: () => {},
  });
  const vcpu = (vmm: number, own: number | null) => {
    const v = new VcpuRun({ recallPending: false, scs: [] } as unknown as Ec, testMachine().vmcs, 0, 0, 1, 1000);
    v.deadline = vmm;
    if (own !== null) v.inKernel = models(own);
    return v;
  };

  it("is the earlier non-zero deadline of the VMM and the models in the hypervisor", () => {
    expect(vcpu(500, 300).timerDeadline()).toBe(300);
    expect(vcpu(200, 300).timerDeadline()).toBe(200);
    expect(vcpu(0, 300).timerDeadline()).toBe(300);
    expect(vcpu(500, 0).timerDeadline()).toBe(500);
    expect(vcpu(0, 0).timerDeadline()).toBe(0);
    expect(vcpu(500, null).timerDeadline()).toBe(500);
  });

  it("gives a preemption-timer exit to the VMM only once its own deadline is due", () => {
    const v = vcpu(500, 300);
    v.vtime = 300;
    expect(v.vmmDeadlineDue()).toBe(false);
    v.vtime = 500;
    expect(v.vmmDeadlineDue()).toBe(true);
    expect(vcpu(0, null).vmmDeadlineDue()).toBe(true); // split: every timer exit is the VMM's
  });
});
