/* IRQ 0 (the PIT) at vector 0x20: count the tick, end the interrupt at the
   master 8259A with a non-specific EOI (OCW2 0x20, 8259A datasheet), iret. */
        .text
        .globl  irq0_stub
irq0_stub:
        push    %eax
        incl    ticks
        mov     $0x20, %al
        outb    %al, $0x20
        pop     %eax
        iret

        .section .note.GNU-stack, "", @progbits
