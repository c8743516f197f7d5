// The guest-to-VMM hypercall ABI, reached with VMCALL (which always exits in
// VMX non-root operation, SDM Vol. 3C §25.1.2):
//
//   in:  EAX = function, EBX.. = arguments
//   out: EAX = result or status; other registers per function
//
//   function 0  PROBE: EAX = HYPERCALL_MAGIC ("moat" as little-endian
//               bytes), EBX = HYPERCALL_ABI_VERSION.
//   function 1  EXIT: stops the VM with exit code EBX (signed 32 bits);
//               does not return.
//   anything else: EAX = HYPERCALL_UNKNOWN (-1), nothing else changes.
//
// Only ring 0 may call: from CPL > 0 every function returns
// HYPERCALL_DENIED (-2), so a guest's user programs cannot stop the VM.
// EIP always moves past the VMCALL.

export const HypercallFn = { PROBE: 0, EXIT: 1 } as const;

/** "moat" read as a little-endian dword: 'm' 0x6d, 'o' 0x6f, 'a' 0x61, 't' 0x74. */
export const HYPERCALL_MAGIC = 0x74616f6d;
export const HYPERCALL_ABI_VERSION = 1;
export const HYPERCALL_UNKNOWN = 0xffff_ffff;
export const HYPERCALL_DENIED = 0xffff_fffe;
