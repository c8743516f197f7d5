// Part of the wire protocol: both sides name exits by these numbers.
// Basic exit reasons, SDM Vol. 3D Appendix C, plus NOVA's two software
// events (startup 254, recall 255) that the kernel raises on its own.
export const ExitReason = {
  EXCEPTION_NMI: 0,
  EXTERNAL_INTERRUPT: 1,
  TRIPLE_FAULT: 2,
  INIT: 3,
  SIPI: 4,
  IO_SMI: 5,
  OTHER_SMI: 6,
  INTERRUPT_WINDOW: 7,
  NMI_WINDOW: 8,
  TASK_SWITCH: 9,
  CPUID: 10,
  GETSEC: 11,
  HLT: 12,
  INVD: 13,
  INVLPG: 14,
  RDPMC: 15,
  RDTSC: 16,
  RSM: 17,
  VMCALL: 18,
  VMCLEAR: 19,
  VMLAUNCH: 20,
  VMPTRLD: 21,
  VMPTRST: 22,
  VMREAD: 23,
  VMRESUME: 24,
  VMWRITE: 25,
  VMXOFF: 26,
  VMXON: 27,
  CR_ACCESS: 28,
  DR_ACCESS: 29,
  IO_INSTRUCTION: 30,
  RDMSR: 31,
  WRMSR: 32,
  ENTRY_FAIL_GUEST_STATE: 33,
  ENTRY_FAIL_MSR_LOAD: 34,
  MWAIT: 36,
  MONITOR_TRAP_FLAG: 37,
  MONITOR: 39,
  PAUSE: 40,
  ENTRY_FAIL_MACHINE_CHECK: 41,
  TPR_BELOW_THRESHOLD: 43,
  APIC_ACCESS: 44,
  GDTR_IDTR_ACCESS: 46,
  LDTR_TR_ACCESS: 47,
  EPT_VIOLATION: 48,
  EPT_MISCONFIG: 49,
  INVEPT: 50,
  RDTSCP: 51,
  PREEMPTION_TIMER: 52,
  INVVPID: 53,
  WBINVD: 54,
  XSETBV: 55,
  // NOVA software events (DESIGN.md §2)
  STARTUP: 254,
  RECALL: 255,
} as const;

/** Bit 31 of the exit-reason field: VM-entry failure (SDM §24.9.1). */
export const EXIT_REASON_ENTRY_FAILURE = 0x8000_0000;

const names = new Map<number, string>(Object.entries(ExitReason).map(([k, v]) => [v, k]));

/** Printable name of a basic exit reason (for --stats and logs). */
export function exitReasonName(reason: number): string {
  return names.get(reason & 0xffff) ?? `reason_${reason & 0xffff}`;
}
