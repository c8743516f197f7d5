/* IRQ 4 (COM1) at vector 0x24: count it and end it at the master 8259A with a
   non-specific EOI (OCW2 0x20, 8259A datasheet); main() reads the bytes. The
   UART holds its line while data waits, but the PIC is edge triggered, so
   the next IRQ comes only once the receiver was emptied and fills again. */
        .text
        .globl  irq4_stub
irq4_stub:
        push    %eax
        incl    irqs
        mov     $0x20, %al
        outb    %al, $0x20
        pop     %eax
        iret

        .section .note.GNU-stack, "", @progbits
