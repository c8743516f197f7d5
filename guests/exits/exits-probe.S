/* MSR accesses that may raise #GP, at known addresses so that the #GP
   handler can check the faulting EIP and step over the 2-byte instruction. */
        .text
/* uint32_t rdmsr_probe(uint32_t msr, uint32_t *hi) */
        .globl  rdmsr_probe, rdmsr_insn
rdmsr_probe:
        mov     4(%esp), %ecx
rdmsr_insn:
        rdmsr
        mov     8(%esp), %ecx
        mov     %edx, (%ecx)
        ret

/* void wrmsr_probe(uint32_t msr, uint32_t lo, uint32_t hi) */
        .globl  wrmsr_probe, wrmsr_insn
wrmsr_probe:
        mov     4(%esp), %ecx
        mov     8(%esp), %eax
        mov     12(%esp), %edx
wrmsr_insn:
        wrmsr
        ret

        .section .note.GNU-stack, "", @progbits
