// The VM-execution controls the kernel gives every vCPU (SDM Vol. 3C §24.6),
// as NOVA's kernel sets them: everything a VMM must see exits (I/O, MSRs,
// HLT, CPUID and VMCALL always do), the host timer interrupts the guest
// (external-interrupt exiting), EPT translates guest-physical memory, a VPID
// tags the vCPU's TLB entries, and the guest may run unpaged.
import type { Ept } from "../mmu/ept.js";
import type { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";

export function initVcpuControls(vmcs: Vmcs, ept: Ept, vpid: number): void {
  vmcs.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | F.PIN_NMI_EXITING);
  vmcs.write(
    F.CPU_BASED_VM_EXEC_CONTROL,
    (F.CPU_HLT_EXITING |
      F.CPU_UNCOND_IO_EXITING |
      F.CPU_USE_MSR_BITMAPS |
      F.CPU_USE_TSC_OFFSETTING |
      F.CPU_ACTIVATE_SECONDARY) >>>
      0,
  );
  // Unrestricted guest lets guests run with paging off or in real mode, as
  // they do on bare metal (SDM §26.3.1.1 relaxes CR0.PE/PG with it).
  vmcs.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | F.SEC_ENABLE_VPID | F.SEC_UNRESTRICTED_GUEST);
  // The timer value is recomputed from the deadline at every entry, not saved.
  vmcs.write(F.VM_EXIT_CONTROLS, 0);
  vmcs.write(F.VM_ENTRY_CONTROLS, 0);
  vmcs.write(F.EXCEPTION_BITMAP, 0);
  vmcs.write(F.VPID, vpid);
  // Every MSR access exits to the VMM, which owns the MSR model (§24.6.9).
  vmcs.msrBitmap.fill(0xff);
  vmcs.ept = ept;
  vmcs.write(F.EPT_POINTER, ept.eptp);
  // No VMCS shadowing: the link pointer must be all ones (§26.3.1.5).
  vmcs.write(F.VMCS_LINK_POINTER, 0xffff_ffff);
}
