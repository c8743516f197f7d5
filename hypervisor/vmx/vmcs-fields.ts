// VMCS field encodings, SDM Vol. 3D Appendix B. Names follow the SDM.
// IA-32 guests only: 64-bit fields are accessed through their "full"
// encoding and hold values below 2^53.

// 16-bit control and guest-state fields (B.1)
export const VPID = 0x0000;
export const GUEST_ES_SELECTOR = 0x0800;
export const GUEST_CS_SELECTOR = 0x0802;
export const GUEST_SS_SELECTOR = 0x0804;
export const GUEST_DS_SELECTOR = 0x0806;
export const GUEST_FS_SELECTOR = 0x0808;
export const GUEST_GS_SELECTOR = 0x080a;
export const GUEST_LDTR_SELECTOR = 0x080c;
export const GUEST_TR_SELECTOR = 0x080e;

// 64-bit control fields (B.2.1)
export const IO_BITMAP_A = 0x2000;
export const IO_BITMAP_B = 0x2002;
export const MSR_BITMAP = 0x2004;
export const TSC_OFFSET = 0x2010;
export const EPT_POINTER = 0x201a;
// 64-bit read-only data field (B.2.2)
export const GUEST_PHYSICAL_ADDRESS = 0x2400;
// 64-bit guest-state fields (B.2.3)
export const VMCS_LINK_POINTER = 0x2800;
export const GUEST_IA32_DEBUGCTL = 0x2802;

// 32-bit control fields (B.3.1)
export const PIN_BASED_VM_EXEC_CONTROL = 0x4000;
export const CPU_BASED_VM_EXEC_CONTROL = 0x4002;
export const EXCEPTION_BITMAP = 0x4004;
export const PAGE_FAULT_ERROR_CODE_MASK = 0x4006;
export const PAGE_FAULT_ERROR_CODE_MATCH = 0x4008;
export const CR3_TARGET_COUNT = 0x400a;
export const VM_EXIT_CONTROLS = 0x400c;
export const VM_ENTRY_CONTROLS = 0x4012;
export const VM_ENTRY_INTR_INFO_FIELD = 0x4016;
export const VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018;
export const VM_ENTRY_INSTRUCTION_LEN = 0x401a;
export const SECONDARY_VM_EXEC_CONTROL = 0x401e;
// 32-bit read-only data fields (B.3.2)
export const VM_INSTRUCTION_ERROR = 0x4400;
export const VM_EXIT_REASON = 0x4402;
export const VM_EXIT_INTR_INFO = 0x4404;
export const VM_EXIT_INTR_ERROR_CODE = 0x4406;
export const IDT_VECTORING_INFO_FIELD = 0x4408;
export const IDT_VECTORING_ERROR_CODE = 0x440a;
export const VM_EXIT_INSTRUCTION_LEN = 0x440c;
export const VMX_INSTRUCTION_INFO = 0x440e;
// 32-bit guest-state fields (B.3.3)
export const GUEST_ES_LIMIT = 0x4800;
export const GUEST_CS_LIMIT = 0x4802;
export const GUEST_SS_LIMIT = 0x4804;
export const GUEST_DS_LIMIT = 0x4806;
export const GUEST_FS_LIMIT = 0x4808;
export const GUEST_GS_LIMIT = 0x480a;
export const GUEST_LDTR_LIMIT = 0x480c;
export const GUEST_TR_LIMIT = 0x480e;
export const GUEST_GDTR_LIMIT = 0x4810;
export const GUEST_IDTR_LIMIT = 0x4812;
export const GUEST_ES_AR_BYTES = 0x4814;
export const GUEST_CS_AR_BYTES = 0x4816;
export const GUEST_SS_AR_BYTES = 0x4818;
export const GUEST_DS_AR_BYTES = 0x481a;
export const GUEST_FS_AR_BYTES = 0x481c;
export const GUEST_GS_AR_BYTES = 0x481e;
export const GUEST_LDTR_AR_BYTES = 0x4820;
export const GUEST_TR_AR_BYTES = 0x4822;
export const GUEST_INTERRUPTIBILITY_INFO = 0x4824;
export const GUEST_ACTIVITY_STATE = 0x4826;
export const GUEST_SYSENTER_CS = 0x482a;
export const VMX_PREEMPTION_TIMER_VALUE = 0x482e;

// Natural-width control fields (B.4.1)
export const CR0_GUEST_HOST_MASK = 0x6000;
export const CR4_GUEST_HOST_MASK = 0x6002;
export const CR0_READ_SHADOW = 0x6004;
export const CR4_READ_SHADOW = 0x6006;
// Natural-width read-only data fields (B.4.2)
export const EXIT_QUALIFICATION = 0x6400;
export const GUEST_LINEAR_ADDRESS = 0x640a;
// Natural-width guest-state fields (B.4.3)
export const GUEST_CR0 = 0x6800;
export const GUEST_CR3 = 0x6802;
export const GUEST_CR4 = 0x6804;
export const GUEST_ES_BASE = 0x6806;
export const GUEST_CS_BASE = 0x6808;
export const GUEST_SS_BASE = 0x680a;
export const GUEST_DS_BASE = 0x680c;
export const GUEST_FS_BASE = 0x680e;
export const GUEST_GS_BASE = 0x6810;
export const GUEST_LDTR_BASE = 0x6812;
export const GUEST_TR_BASE = 0x6814;
export const GUEST_GDTR_BASE = 0x6816;
export const GUEST_IDTR_BASE = 0x6818;
export const GUEST_DR7 = 0x681a;
export const GUEST_RSP = 0x681c;
export const GUEST_RIP = 0x681e;
export const GUEST_RFLAGS = 0x6820;
export const GUEST_PENDING_DBG_EXCEPTIONS = 0x6822;
export const GUEST_SYSENTER_ESP = 0x6824;
export const GUEST_SYSENTER_EIP = 0x6826;

// Pin-based VM-execution controls (SDM §24.6.1)
export const PIN_EXTINT_EXITING = 1 << 0;
export const PIN_NMI_EXITING = 1 << 3;
export const PIN_VIRTUAL_NMIS = 1 << 5;
export const PIN_PREEMPTION_TIMER = 1 << 6;

// Primary processor-based VM-execution controls (SDM §24.6.2, table 24-6)
export const CPU_INTR_WINDOW_EXITING = 1 << 2;
export const CPU_USE_TSC_OFFSETTING = 1 << 3;
export const CPU_HLT_EXITING = 1 << 7;
export const CPU_INVLPG_EXITING = 1 << 9;
export const CPU_MWAIT_EXITING = 1 << 10;
export const CPU_RDPMC_EXITING = 1 << 11;
export const CPU_RDTSC_EXITING = 1 << 12;
export const CPU_CR3_LOAD_EXITING = 1 << 15;
export const CPU_CR3_STORE_EXITING = 1 << 16;
export const CPU_NMI_WINDOW_EXITING = 1 << 22;
export const CPU_MOV_DR_EXITING = 1 << 23;
export const CPU_UNCOND_IO_EXITING = 1 << 24;
export const CPU_USE_IO_BITMAPS = 1 << 25;
export const CPU_MONITOR_TRAP_FLAG = 1 << 27;
export const CPU_USE_MSR_BITMAPS = 1 << 28;
export const CPU_MONITOR_EXITING = 1 << 29;
export const CPU_PAUSE_EXITING = 1 << 30;
export const CPU_ACTIVATE_SECONDARY = 1 << 31;

// Secondary processor-based VM-execution controls (SDM §24.6.2, table 24-7)
export const SEC_ENABLE_EPT = 1 << 1;
export const SEC_DESC_TABLE_EXITING = 1 << 2;
export const SEC_ENABLE_VPID = 1 << 5;
export const SEC_WBINVD_EXITING = 1 << 6;
export const SEC_UNRESTRICTED_GUEST = 1 << 7;

// VM-exit controls (SDM §24.7.1)
export const EXIT_SAVE_DEBUG_CONTROLS = 1 << 2;
export const EXIT_ACK_INTR_ON_EXIT = 1 << 15;
export const EXIT_SAVE_PREEMPTION_TIMER = 1 << 22;

// VM-entry controls (SDM §24.8.1)
export const ENTRY_LOAD_DEBUG_CONTROLS = 1 << 2;
export const ENTRY_IA32E_MODE = 1 << 9;

// Interruption-information format (SDM §24.8.3, §24.9.2)
export const INTR_INFO_VALID = 1 << 31;
export const INTR_INFO_DELIVER_ERROR = 1 << 11;
export const INTR_TYPE_EXT_INTR = 0;
export const INTR_TYPE_NMI = 2;
export const INTR_TYPE_HW_EXCEPTION = 3;
export const INTR_TYPE_SW_INTR = 4;
export const INTR_TYPE_PRIV_SW_EXCEPTION = 5;
export const INTR_TYPE_SW_EXCEPTION = 6;

// Guest interruptibility state (SDM §24.4.2, table 24-3)
export const INTERRUPTIBILITY_STI = 1 << 0;
export const INTERRUPTIBILITY_MOV_SS = 1 << 1;
export const INTERRUPTIBILITY_SMI = 1 << 2;
export const INTERRUPTIBILITY_NMI = 1 << 3;

// Guest activity state (SDM §24.4.2)
export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;
export const ACTIVITY_SHUTDOWN = 2;
export const ACTIVITY_WAIT_SIPI = 3;
