/* Instruction sequences the debug guest runs under TF and breakpoints; each
   label marks an instruction boundary the checks compare saved EIPs with
   (guests/debug/debug.c). All are called with interrupts off. */
        .text

/* POPF sets TF: the first trap comes after the instruction that follows
   POPF (SDM Vol. 3B §17.3.1.4), then one after every instruction up to and
   including the POPF that clears TF. */
        .globl ss_probe, ss_l1, ss_l2, ss_l3, ss_l4, ss_l5, ss_l6
ss_probe:
        pushfl
        orl     $0x100, (%esp)
        popfl
ss_l1:  nop
ss_l2:  movl    $5, %eax
ss_l3:  pushfl
ss_l4:  andl    $~0x100, (%esp)
ss_l5:  popfl
ss_l6:  nop
        ret

/* An instruction breakpoint target (DR0 points at ibp_insn). */
        .globl ibp_probe, ibp_insn, ibp_next
ibp_probe:
        movl    $0, %eax
ibp_insn:
        incl    %eax
ibp_next:
        incl    %eax
        ret

/* Data accesses: store_b/w/l(addr, value), load_l(addr) with the trap's
   expected EIP right after the access. */
        .globl store_b, store_b_end, store_w, store_w_end, store_l, store_l_end, load_l, load_l_end
store_b:
        movl    4(%esp), %edx
        movl    8(%esp), %eax
        movb    %al, (%edx)
store_b_end:
        ret
store_w:
        movl    4(%esp), %edx
        movl    8(%esp), %eax
        movw    %ax, (%edx)
store_w_end:
        ret
store_l:
        movl    4(%esp), %edx
        movl    8(%esp), %eax
        movl    %eax, (%edx)
store_l_end:
        ret
load_l:
        movl    4(%esp), %edx
        movl    (%edx), %eax
load_l_end:
        ret

/* OUT to the POST port 0x80 (an I/O breakpoint's target). */
        .globl out_probe, out_probe_end
out_probe:
        movb    $0x42, %al
        outb    %al, $0x80
out_probe_end:
        ret

/* MOV from DR0 with DR7.GD set: a #DB fault on the MOV (3 bytes: 0F 21 C0). */
        .globl gd_probe, gd_insn
gd_probe:
gd_insn:
        movl    %dr0, %eax
        ret

/* INT1 / ICEBP (F1): a trap-class #DB. */
        .globl icebp_probe, icebp_next
icebp_probe:
        .byte   0xf1
icebp_next:
        ret

/* Single-step over instructions that exit to the hypervisor (OUT, CPUID):
   each still traps once after it, with the EIP of the next instruction. */
        .globl sx_probe, sx_l2, sx_l3, sx_l4, sx_l5, sx_l6, sx_l7
sx_probe:
        pushl   %ebx
        movl    $1, %eax
        pushfl
        orl     $0x100, (%esp)
        popfl
        nop
sx_l2:  outb    %al, $0x80
sx_l3:  cpuid
sx_l4:  pushfl
sx_l5:  andl    $~0x100, (%esp)
sx_l6:  popfl
sx_l7:  popl    %ebx
        ret

        .section .note.GNU-stack, "", @progbits
