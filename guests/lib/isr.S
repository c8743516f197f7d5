/* Trap entry stubs: make every trap look alike (a dummy error code where
   the CPU pushes none, SDM Table 6-1), save the registers, switch to the
   kernel data segments and call trap_dispatch(frame). */
        .text

.macro ISR_NOERR n
isr\n:  pushl   $0
        pushl   $\n
        jmp     isr_common
.endm

.macro ISR_ERR n
isr\n:  pushl   $\n
        jmp     isr_common
.endm

/* Vectors with an error code on P6: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17. */
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_NOERR 21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_NOERR 29
ISR_NOERR 30
ISR_NOERR 31
        .globl  isr128
ISR_NOERR 128

isr_common:
        pushal
        push    %ds
        push    %es
        push    %fs
        push    %gs
        mov     $0x10, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        push    %esp
        call    trap_dispatch
        add     $4, %esp
        pop     %gs
        pop     %fs
        pop     %es
        pop     %ds
        popal
        add     $8, %esp                /* vector and error code */
        iret

/* void enter_user(void (*entry)(void), void *stack_top) */
        .globl  enter_user
enter_user:
        mov     4(%esp), %ecx
        mov     8(%esp), %edx
        mov     $0x23, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %fs
        mov     %ax, %gs
        pushl   $0x23                   /* SS */
        pushl   %edx                    /* ESP */
        pushl   $0x2                    /* EFLAGS: IF = 0, IOPL = 0 */
        pushl   $0x1B                   /* CS */
        pushl   %ecx                    /* EIP */
        iret

        .section .rodata
        .balign 4
        .globl  isr_table
isr_table:
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .long   isr\n
        .endr

        .section .note.GNU-stack, "", @progbits
