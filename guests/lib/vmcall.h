/* The moat guest hypercall ABI (vmm/hypercall-abi.ts): VMCALL with the
   function in EAX. 0 PROBE: EAX = 0x74616F6D ("moat"), EBX = ABI version.
   1 EXIT: stop the VM with exit code EBX. Unknown: EAX = 0xFFFFFFFF. */
#ifndef MOAT_GUEST_VMCALL_H
#define MOAT_GUEST_VMCALL_H
#include <stdint.h>

#define HC_PROBE 0
#define HC_EXIT 1
#define HC_MAGIC 0x74616F6Du
#define HC_UNKNOWN 0xFFFFFFFFu

/* Returns EAX; *ebx receives EBX. */
static inline uint32_t vmcall(uint32_t fn, uint32_t arg, uint32_t *ebx)
{
  uint32_t a = fn, b = arg;
  __asm__ volatile("vmcall" : "+a"(a), "+b"(b) : : "ecx", "edx", "memory");
  if (ebx)
    *ebx = b;
  return a;
}

#endif
