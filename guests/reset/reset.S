/*
 * reset: a 64 KiB firmware ROM that checks the processor state after reset
 * and the ROM's mapping, then reports over COM1 and ends its VM through the
 * debug-exit port 0xF4 with the number of failed checks (0 = all passed).
 *
 * Oracle: SDM Vol. 3A §9.1.4 (first instruction at FFFFFFF0H, CS.base
 * FFFF0000H until CS is reloaded) and Table 9-1 (state after power-up or
 * reset: EFLAGS 2, EIP FFF0H, CS F000H, other selectors 0, EDX the CPUID
 * leaf 1 EAX signature, EAX 0 (no BIST), other GPRs 0, CR0 60000010H, CR2-4
 * 0, GDTR/IDTR base 0 limit FFFFH, DR6 FFFF0FF0H, DR7 400H); a PC's
 * chipset decoding the BIOS ROM both below 4 GiB and at F0000H-FFFFFH, and
 * a ROM ignoring writes. The same ROM runs under QEMU (-bios) as a second
 * opinion (guests/guests.test.ts).
 *
 * Expected output: one "PASS <name>" line per check, then
 * "reset: 26 checks passed, 0 failed".
 */
#define SAVE 0x7000            /* RAM scratch, reached with DS = 0 */
        .set S_EAX, SAVE + 0x00
        .set S_EBX, SAVE + 0x04
        .set S_ECX, SAVE + 0x08
        .set S_EDX, SAVE + 0x0c
        .set S_ESI, SAVE + 0x10
        .set S_EDI, SAVE + 0x14
        .set S_EBP, SAVE + 0x18
        .set S_ESP, SAVE + 0x1c
        .set S_EFL, SAVE + 0x20
        .set S_CR0, SAVE + 0x24
        .set S_CR2, SAVE + 0x28
        .set S_CR3, SAVE + 0x2c
        .set S_CR4, SAVE + 0x30
        .set S_DR6, SAVE + 0x34
        .set S_DR7, SAVE + 0x38
        .set S_SEGS, SAVE + 0x40   /* CS DS ES FS GS SS, 16 bits each */
        .set S_IDTR, SAVE + 0x50   /* limit 16, base 32 */
        .set S_GDTR, SAVE + 0x58
        .set S_SIG, SAVE + 0x60    /* CPUID.1:EAX */
        .set S_RMW, SAVE + 0x64    /* byte read back after a real-mode write to the ROM */
#define FAILED (SAVE + 0x70)
#define PASSED (SAVE + 0x74)
#define ROMBASE 0xF0000
#define TOP 0xFFFF0000
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

        .code16
        .text
        .globl start16
start16:
        /* Registers as reset left them: save before anything changes them
           (MOV changes no flags; DS = 0 reaches RAM). */
        movl %eax, S_EAX
        movl %ebx, S_EBX
        movl %ecx, S_ECX
        movl %edx, S_EDX
        movl %esi, S_ESI
        movl %edi, S_EDI
        movl %ebp, S_EBP
        movl %esp, S_ESP
        pushfl
        popl %eax
        movl %eax, S_EFL
        movl %cr0, %eax
        movl %eax, S_CR0
        movl %cr2, %eax
        movl %eax, S_CR2
        movl %cr3, %eax
        movl %eax, S_CR3
        movl %cr4, %eax
        movl %eax, S_CR4
        movl %dr6, %eax
        movl %eax, S_DR6
        movl %dr7, %eax
        movl %eax, S_DR7
        movw %cs, S_SEGS
        movw %ds, S_SEGS + 2
        movw %es, S_SEGS + 4
        movw %fs, S_SEGS + 6
        movw %gs, S_SEGS + 8
        movw %ss, S_SEGS + 10
        sidtl S_IDTR
        sgdtl S_GDTR
        movl $1, %eax
        cpuid
        movl %eax, S_SIG
        /* A real-mode byte write to the ROM through its F0000H alias: ignored. */
        movw $0xf000, %ax
        movw %ax, %es
        movb $0x5a, %es:(rom_byte - start16)
        movb %es:(rom_byte - start16), %al
        movb %al, S_RMW
        /* Protected mode with flat segments (GDT in the ROM, read through CS). */
        lgdtl %cs:(gdt_desc - start16)
        movl %cr0, %eax
        orl $1, %eax
        movl %eax, %cr0
        ljmpl $0x08, $start32

        .code32
start32:
        movw $0x10, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw %ax, %fs
        movw %ax, %gs
        movl $0x9000, %esp
        movl $0, FAILED
        movl $0, PASSED

        /* Table 9-1. */
        movl S_SIG, %ebx
        movl S_EDX, %eax
        movl $n_edx, %esi
        call check
        .irp reg, EAX, EBX, ECX, ESI, EDI, EBP, ESP, CR2, CR3, CR4
        movl S_\reg, %eax
        xorl %ebx, %ebx
        movl $n_\reg, %esi
        call check
        .endr
        movl S_EFL, %eax
        movl $2, %ebx
        movl $n_efl, %esi
        call check
        movl S_CR0, %eax
        movl $0x60000010, %ebx
        movl $n_cr0, %esi
        call check
        movl S_DR6, %eax
        movl $0xffff0ff0, %ebx
        movl $n_dr6, %esi
        call check
        movl S_DR7, %eax
        movl $0x400, %ebx
        movl $n_dr7, %esi
        call check
        movzwl S_SEGS, %eax
        movl $0xf000, %ebx
        movl $n_cs, %esi
        call check
        /* DS ES FS GS SS all 0: OR them together. */
        movl S_SEGS + 2, %eax
        orl S_SEGS + 6, %eax
        orw S_SEGS + 10, %ax
        xorl %ebx, %ebx
        movl $n_sel, %esi
        call check
        movzwl S_IDTR, %eax
        movl S_IDTR + 2, %ecx
        orl %ecx, %eax
        movl $0xffff, %ebx
        movl $n_idtr, %esi
        call check
        movzwl S_GDTR, %eax
        movl S_GDTR + 2, %ecx
        orl %ecx, %eax
        movl $0xffff, %ebx
        movl $n_gdtr, %esi
        call check

        /* The ROM below 4 GiB and its alias at F0000H hold the same 64 KiB. */
        movl $TOP, %esi
        movl $ROMBASE, %edi
        movl $0x4000, %ecx
        cld
        repe cmpsl
        movl %ecx, %eax
        xorl %ebx, %ebx
        movl $n_alias, %esi
        call check
        /* The reset vector: a far jump (EA) to F000:start16. */
        movzbl 0xfffffff0, %eax
        movl $0xea, %ebx
        movl $n_vector, %esi
        call check

        /* Writes to the ROM are ignored: real mode (above), 32-bit stores to both copies, a read-modify-write. */
        movzbl S_RMW, %eax
        movl $0xa5, %ebx
        movl $n_rmw16, %esi
        call check
        movl $0x11223344, rom_word
        movl rom_word, %eax
        movl $0xa5a5a5a5, %ebx
        movl $n_walias, %esi
        call check
        movl $0x55667788, TOP + (rom_word - start16)
        movl TOP + (rom_word - start16), %eax
        movl $0xa5a5a5a5, %ebx
        movl $n_wtop, %esi
        call check
        orl $0x0f0f0f0f, TOP + (rom_word - start16)
        movl TOP + (rom_word - start16), %eax
        movl $0xa5a5a5a5, %ebx
        movl $n_wnot, %esi
        call check
        /* The alias still equals the top copy after the writes. */
        movl rom_word, %eax
        movl $0xa5a5a5a5, %ebx
        movl $n_walias2, %esi
        call check

        /* Summary, then the debug-exit port ends the VM with the failure count. */
        movl $m_reset, %esi
        call puts
        movl PASSED, %eax
        call putdec
        movl $m_passed, %esi
        call puts
        movl FAILED, %eax
        call putdec
        movl $m_failed, %esi
        call puts
        movl FAILED, %eax
        outl %eax, $DEBUG_EXIT
1:      hlt
        jmp 1b

/* check: "PASS name" if EAX == EBX, else "FAIL name: got X, want Y". ESI = name. */
check:
        pushl %eax
        cmpl %ebx, %eax
        jne 1f
        incl PASSED
        pushl %esi
        movl $m_pass, %esi
        call puts
        popl %esi
        call puts
        movb $'\n', %al
        call putc
        popl %eax
        ret
1:      incl FAILED
        pushl %esi
        movl $m_fail, %esi
        call puts
        popl %esi
        call puts
        movl $m_got, %esi
        call puts
        movl (%esp), %eax
        call puthex
        movl $m_want, %esi
        call puts
        movl %ebx, %eax
        call puthex
        movb $'\n', %al
        call putc
        popl %eax
        ret

/* putc: AL to COM1 once its transmitter holding register is empty (16550 LSR bit 5). */
putc:
        pushl %edx
        pushl %eax
        movw $COM1 + 5, %dx
1:      inb %dx, %al
        testb $0x20, %al
        jz 1b
        popl %eax
        movw $COM1, %dx
        outb %al, %dx
        popl %edx
        ret

/* puts: the NUL-terminated string at ESI. */
puts:
        pushl %eax
        pushl %esi
1:      lodsb
        testb %al, %al
        jz 2f
        call putc
        jmp 1b
2:      popl %esi
        popl %eax
        ret

/* puthex: EAX as 0x + 8 hex digits. */
puthex:
        pushl %eax
        pushl %ecx
        pushl %edx
        movl %eax, %edx
        movb $'0', %al
        call putc
        movb $'x', %al
        call putc
        movl $8, %ecx
1:      roll $4, %edx
        movl %edx, %eax
        andl $0xf, %eax
        movb hexdig(%eax), %al
        call putc
        loop 1b
        popl %edx
        popl %ecx
        popl %eax
        ret

/* putdec: EAX (< 100) in decimal. */
putdec:
        pushl %eax
        pushl %edx
        pushl %ecx
        xorl %edx, %edx
        movl $10, %ecx
        divl %ecx
        testl %eax, %eax
        jz 1f
        addb $'0', %al
        call putc
1:      movb %dl, %al
        addb $'0', %al
        call putc
        popl %ecx
        popl %edx
        popl %eax
        ret

        .p2align 3
gdt:
        .quad 0
        .quad 0x00cf9b000000ffff        /* 0x08: code, base 0, limit 4 GiB, 32-bit */
        .quad 0x00cf93000000ffff        /* 0x10: data, base 0, limit 4 GiB */
gdt_desc:
        .word gdt_desc - gdt - 1
        .long gdt

        .p2align 2
rom_word:
        .long 0xa5a5a5a5
rom_byte:
        .byte 0xa5

hexdig: .ascii "0123456789abcdef"
m_pass: .asciz "PASS "
m_fail: .asciz "FAIL "
m_got:  .asciz ": got "
m_want: .asciz ", want "
m_reset: .asciz "reset: "
m_passed: .asciz " checks passed, "
m_failed: .asciz " failed\n"
n_edx:  .asciz "EDX = CPUID.1:EAX (processor signature)"
n_EAX:  .asciz "EAX = 0"
n_EBX:  .asciz "EBX = 0"
n_ECX:  .asciz "ECX = 0"
n_ESI:  .asciz "ESI = 0"
n_EDI:  .asciz "EDI = 0"
n_EBP:  .asciz "EBP = 0"
n_ESP:  .asciz "ESP = 0"
n_CR2:  .asciz "CR2 = 0"
n_CR3:  .asciz "CR3 = 0"
n_CR4:  .asciz "CR4 = 0"
n_efl:  .asciz "EFLAGS = 2"
n_cr0:  .asciz "CR0 = 60000010H"
n_dr6:  .asciz "DR6 = FFFF0FF0H"
n_dr7:  .asciz "DR7 = 400H"
n_cs:   .asciz "CS = F000H after the far jump"
n_sel:  .asciz "DS ES FS GS SS = 0"
n_idtr: .asciz "IDTR base 0 limit FFFFH"
n_gdtr: .asciz "GDTR base 0 limit FFFFH"
n_alias: .asciz "F0000H-FFFFFH shows the same bytes as FFFF0000H-FFFFFFFFH"
n_vector: .asciz "FFFFFFF0H holds the reset vector's far jump"
n_rmw16: .asciz "a real-mode write to the ROM alias is ignored"
n_walias: .asciz "a 32-bit write to the ROM alias is ignored"
n_wtop: .asciz "a 32-bit write to the ROM below 4 GiB is ignored"
n_wnot: .asciz "OR on the ROM below 4 GiB (read-modify-write) leaves it unchanged"
n_walias2: .asciz "the alias still matches after the writes"

/* The reset vector (FFFFFFF0H, and FFFF0H in the alias): CS.base is
   FFFF0000H until this far jump loads CS the real-mode way (§9.1.4). */
        .section .reset, "ax"
        .code16
        .globl reset_vector
reset_vector:
        ljmp $0xf000, $0         /* start16, the first byte of the ROM (rom.ld) */
        .fill 16 - (. - reset_vector), 1, 0xf4
