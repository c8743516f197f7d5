// Interrupt delivery in the hypervisor (placement irqchip): what the VMM's
// vmm/interrupts.ts does on a VmReply, done here on the VMCS itself, after
// every exit of the VM (finished here or by its VMM):
// - an event whose delivery the exit interrupted (IDT-vectoring information
//   valid, SDM Vol. 3C §27.2.4) is re-injected unless an event is already
//   being injected; a software event needs its instruction length again
//   (§26.6.1.1), which is the exit's;
// - a maskable interrupt from the 8259A is taken only with EFLAGS.IF = 1 and
//   no blocking by STI or MOV SS (Vol. 3A §6.8.1, §6.8.3; Vol. 3C Table 24-3),
//   one event per VM entry (§24.8.3); otherwise the vCPU gets an
//   interrupt-window exit (§25.2) and the request stays in the controller;
// - injection makes a halted vCPU active (§26.6.3, §26.6.5).
import type { GuestContext } from "../kernel/state-groups.js";
import { ExitReason } from "../vmx/exit-reason.js";
import type { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";

/** The processor side of an interrupt controller: INTR and INTA. */
export interface InterruptController {
  hasInterrupt(): boolean;
  /** The INTA cycle: the vector, with the request moved to in-service. */
  acknowledge(): number;
}

const EFLAGS_IF = 1 << 9;
/** Interruptibility state bits 0 and 1 (SDM Table 24-3). */
const BLOCKING_STI_MOV_SS = F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS;
/** IDT-vectoring information (SDM Table 24-16): vector 7:0, type 10:8, error code valid 11, valid 31. */
const VECTORING_KEEP = 0x8000_0fff;
/** Event types that carry an instruction length (SDM §24.8.3). */
const SOFTWARE_TYPES = new Set([F.INTR_TYPE_SW_INTR, F.INTR_TYPE_PRIV_SW_EXCEPTION, F.INTR_TYPE_SW_EXCEPTION]);

/** Re-injects, injects or asks for a window: the delivery step after one exit. */
export function deliverInterrupts(ctx: GuestContext, pic: InterruptController): void {
  const vmcs = ctx.vmcs;
  reinjectVectoring(vmcs);
  let window = false;
  if (pic.hasInterrupt()) {
    if (canTakeInterrupt(vmcs)) injectExternal(vmcs, pic.acknowledge());
    else window = true;
  }
  setIntrWindow(vmcs, window);
}

/**
 * SDM §27.2.4: an event the exit interrupted is lost unless re-injected; one
 * the VMM already injects wins. Not after a task-switch exit (reason 9): its
 * IDT-vectoring information names the event whose delivery through a task
 * gate is the switch itself (§25.4.2), which the VMM's emulation of the
 * switch completed (vmm/emulator/task-switch.ts; KVM drops the event too).
 */
export function reinjectVectoring(vmcs: Vmcs): boolean {
  const info = vmcs.read(F.IDT_VECTORING_INFO_FIELD);
  if (!(info & F.INTR_INFO_VALID) || vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID) return false;
  if ((vmcs.read(F.VM_EXIT_REASON) & 0xffff) === ExitReason.TASK_SWITCH) return false;
  vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (info & VECTORING_KEEP) >>> 0);
  vmcs.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs.read(F.IDT_VECTORING_ERROR_CODE));
  const software = SOFTWARE_TYPES.has((info >>> 8) & 7);
  vmcs.write(F.VM_ENTRY_INSTRUCTION_LEN, software ? vmcs.read(F.VM_EXIT_INSTRUCTION_LEN) : 0);
  return true;
}

/** No event injected yet, IF = 1, no STI / MOV SS blocking (SDM §6.8.1, Table 24-3). */
export function canTakeInterrupt(vmcs: Vmcs): boolean {
  if (vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID) return false;
  if (!(vmcs.read(F.GUEST_RFLAGS) & EFLAGS_IF)) return false;
  return (vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) & BLOCKING_STI_MOV_SS) === 0;
}

/** External interrupt `vector` (type 0, §24.8.3); a halted vCPU becomes active (§26.6.5). */
export function injectExternal(vmcs: Vmcs, vector: number): void {
  vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | (F.INTR_TYPE_EXT_INTR << 8) | (vector & 0xff)) >>> 0);
  vmcs.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
  vmcs.write(F.VM_ENTRY_INSTRUCTION_LEN, 0);
  if (vmcs.read(F.GUEST_ACTIVITY_STATE) === F.ACTIVITY_HLT) vmcs.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_ACTIVE);
}

/** Interrupt-window exiting (primary processor-based control bit 2, SDM §24.6.2). */
export function setIntrWindow(vmcs: Vmcs, on: boolean): void {
  const old = vmcs.read(F.CPU_BASED_VM_EXEC_CONTROL);
  const next = on ? old | F.CPU_INTR_WINDOW_EXITING : old & ~F.CPU_INTR_WINDOW_EXITING;
  vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, next >>> 0);
}

/**
 * Completes an instruction-caused exit: EIP past the instruction (exit
 * instruction length, §27.2.5), and blocking by STI or MOV SS ends with it
 * (§24.4.2), as after any instruction that retires.
 */
export function advanceEip(vmcs: Vmcs): void {
  vmcs.write(F.GUEST_RIP, (vmcs.read(F.GUEST_RIP) + vmcs.read(F.VM_EXIT_INSTRUCTION_LEN)) >>> 0);
  const intr = vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO);
  if (intr & BLOCKING_STI_MOV_SS) vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, (intr & ~BLOCKING_STI_MOV_SS) >>> 0);
}

/**
 * HLT (exit reason 12) in the hypervisor, as KVM handles it with an in-kernel
 * irqchip: the vCPU waits in the HLT activity state (§24.4.2) for an
 * interrupt; the scheduler skips virtual time to the next deadline. With
 * EFLAGS.IF = 0 only an NMI could wake it and the VM has no NMI source: the
 * guest is done (the VMM's vmm/handlers/hlt.ts ends it the same way).
 * Returns false when the VM ends.
 */
export function haltVcpu(vmcs: Vmcs): boolean {
  if (!(vmcs.read(F.GUEST_RFLAGS) & EFLAGS_IF)) return false;
  advanceEip(vmcs);
  vmcs.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_HLT);
  return true;
}
