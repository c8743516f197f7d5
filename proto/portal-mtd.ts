// Part of the contract between root task and VMM: the guest-state groups
// each VMM exit handler reads, and so the MTD the root task gives the portal
// for that exit reason (DESIGN.md §2 step 4). An exit that arrives without
// them is stopped with a reason naming the missing groups, never handled
// with made-up zeros.
import { ExitReason } from "./exit-reason.js";
import { Mtd } from "./mtd.js";

/**
 * The register state an instruction works on: every general register, ESP,
 * EIP and the instruction length, EFLAGS, the six segment registers and
 * CR0/CR3/CR4 (the guest's paging). The VMM reads it to emulate and writes it
 * back after a task switch or at startup (vmm/emulator/task-switch.ts,
 * vmm/boot/initial-state.ts add what else they write).
 */
export const INSTRUCTION_STATE_GROUPS =
  Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RSP | Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.DS_ES | Mtd.FS_GS | Mtd.CS_SS | Mtd.CR;

/**
 * What the instruction emulator (vmm/emulator/handlers.ts) reads: every register an operand can name, the segments, the
 * control registers for the guest's paging, and the qualification.
 */
export const EMULATOR_GROUPS = INSTRUCTION_STATE_GROUPS | Mtd.QUAL;

/**
 * What the VMM's task-switch emulation (vmm/emulator/task-switch.ts) reads:
 * the whole register state it saves into the old TSS, TR (the old TSS),
 * LDTR (selectors of the new task may name its LDT), GDTR (TSS and segment
 * descriptors), IDTR (an INT n task gate's DPL), CR0/CR3/CR4 (the guest's
 * paging) and the qualification (new TSS selector and source, SDM Table 27-2).
 */
export const TASK_SWITCH_GROUPS = EMULATOR_GROUPS | Mtd.TR | Mtd.LDTR | Mtd.GDTR | Mtd.IDTR | Mtd.INJ;

/**
 * Groups every exit carries, whatever its handler needs, because the VMM's
 * interrupt delivery runs after each one (vmm/interrupts.ts): EFLAGS.IF,
 * the interruptibility and activity state (SDM §24.4.2), the IDT-vectoring
 * information (§27.2.4, group INJ), EIP and the instruction length (to
 * re-inject a software event and to end STI blocking), and the virtual TSC
 * the device models run on (DESIGN.md §5).
 */
export const INTERRUPT_MTD = Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.STA | Mtd.TSC | Mtd.INJ;

/** Groups each handled reason needs. */
export const REQUIRED_MTD: Readonly<Record<number, number>> = {
  [ExitReason.STARTUP]: 0,
  [ExitReason.RECALL]: 0,
  [ExitReason.INTERRUPT_WINDOW]: 0,
  [ExitReason.PREEMPTION_TIMER]: 0,
  [ExitReason.TRIPLE_FAULT]: 0,
  [ExitReason.CPUID]: Mtd.GPR_ACDB | Mtd.RIP_LEN,
  [ExitReason.HLT]: Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.STA,
  [ExitReason.VMCALL]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.CS_SS,
  // IN/OUT need EAX and the qualification; INS/OUTS go through the emulator.
  [ExitReason.IO_INSTRUCTION]: EMULATOR_GROUPS,
  [ExitReason.RDMSR]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.SYSENTER | Mtd.TSC,
  [ExitReason.WRMSR]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.SYSENTER,
  // An access to guest-physical memory that is not RAM: emulated against the MMIO devices.
  [ExitReason.EPT_VIOLATION]: EMULATOR_GROUPS,
  // A hardware task switch (JMP/CALL/IRET or an IDT task gate), emulated with the IDT-vectoring information.
  [ExitReason.TASK_SWITCH]: TASK_SWITCH_GROUPS,
};

/**
 * The MTD to give the portal for `reason`: the required groups plus
 * INTERRUPT_MTD (which includes STA, so that completing an instruction can
 * end a blocking by STI or MOV SS, vmm/reply.ts advanceEip). Unhandled
 * reasons add QUAL (their stop reason names the reason).
 */
export function portalMtd(reason: number): number {
  const need = REQUIRED_MTD[reason] ?? Mtd.QUAL;
  return (need | INTERRUPT_MTD) >>> 0;
}

/** Exit reasons that get a portal: every basic reason the SDM defines (0-65)
 * plus NOVA's startup (254) and recall (255). */
export const PORTAL_REASONS: readonly number[] = [...Array.from({ length: 66 }, (_, i) => i), 254, 255];
