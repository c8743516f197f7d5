/* Guest entry. The VMM starts us in flat 32-bit protected mode, paging off,
   EIP = _start (also the first byte of the flat binary). We do not trust the
   initial ESP (top of RAM) or that RAM is zero: set our own stack and clear
   .bss first. A Multiboot header (magic 0x1BADB002, flags 0) lets the same
   ELF boot under any Multiboot loader. */
        .section .text.start, "ax"
        .globl _start
_start:
        jmp     1f
        .balign 4
multiboot_header:
        .long   0x1BADB002
        .long   0
        .long   -0x1BADB002
1:      cld
        mov     $__bss_start, %edi
        mov     $__bss_end, %ecx
        sub     %edi, %ecx
        xor     %eax, %eax
        rep stosb
        mov     $boot_stack_top, %esp
        call    main
        .globl  halt_forever
halt_forever:
        cli
2:      hlt
        jmp     2b

        .bss
        .balign 16
boot_stack:
        .skip   16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
