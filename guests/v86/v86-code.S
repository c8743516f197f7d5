/* The 16-bit program v86.c runs in virtual-8086 mode. It is position
   dependent only on its segment: v86.c copies the bytes from v86_blob to
   v86_blob_end to linear V86_CODE_SEG * 16 and enters at the offsets
   v86_phase1 - v86_blob and v86_phase2 - v86_blob with CS = V86_CODE_SEG.
   Offsets of data inside the blob are written as (label - v86_blob).
   Segments on entry: DS = table of 8 words, ES = results (see v86.c). */
        .section .rodata
        .code16
        .globl  v86_blob, v86_blob_end, v86_phase1, v86_phase2, v86_int42
        .globl  v86_out80, v86_cli, v86_sti, v86_int42_insn, v86_iret, v86_pf_insn, v86_exit

        .set    CODE_SEG, 0x2000        /* = V86_CODE_SEG in v86.c */
        .set    COM1, 0x3f8
        .set    LSR_THRE, 0x20

v86_blob:

/* ---- phase 1: IOPL 0 ---- */
v86_phase1:
        /* Arithmetic and memory through the V86 segments: ES:0 = 3 * (sum of the 8 words at DS:0). */
        xor     %ax, %ax
        xor     %si, %si
        mov     $8, %cx
1:      add     (%si), %ax
        add     $2, %si
        loop    1b
        mov     %ax, %bx
        shl     $1, %ax
        add     %bx, %ax
        mov     %ax, %es:0
        /* POP Sreg and PUSH: DS <- ES for a moment, read the result back through DS, store it at ES:12. */
        push    %ds
        push    %es
        pop     %ds
        mov     0, %dx
        pop     %ds
        mov     %dx, %es:12
        /* Far JMP to an alias of this segment: CS = CODE_SEG + 1, IP 16 lower; store CS there; jump back. */
        ljmp    $CODE_SEG + 1, $(.Lalias - v86_blob - 0x10)
.Lalias:
        mov     %cs, %es:10
        ljmp    $CODE_SEG, $(.Lback - v86_blob)
.Lback:
        /* OUT/IN to COM1, allowed by the TSS I/O permission bitmap: print a line. */
        push    %ds
        push    %cs
        pop     %ds
        mov     $(hello - v86_blob), %si
2:      lodsb
        test    %al, %al
        jz      4f
        mov     %al, %ah
        mov     $COM1 + 5, %dx
3:      in      %dx, %al
        test    $LSR_THRE, %al
        jz      3b
        mov     $COM1, %dx
        mov     %ah, %al
        out     %al, %dx
        jmp     2b
4:      pop     %ds
        /* A port the bitmap denies: #GP(0); the monitor skips the 2-byte instruction. */
v86_out80:
        outb    %al, $0x80
        /* CLI and STI at IOPL 0: #GP(0); the monitor emulates them with a virtual IF. */
v86_cli:
        cli
v86_sti:
        sti
        /* INT 0x42 at IOPL 0: #GP(0); the monitor reflects it through the V86 IVT to v86_int42. */
        mov     $20, %ax
v86_int42_insn:
        int     $0x42
        mov     %ax, %es:2
        /* A read of a supervisor page: #PF with U = 1; the monitor maps the page for users and resumes. */
        mov     $0x3000, %bx
        mov     %bx, %fs
v86_pf_insn:
        mov     %fs:0x10, %ax
        mov     %ax, %es:4
        /* Back to protected mode: the DOS-style exit call, INT 0x21 with AH = 0x4C (#GP(0) at IOPL 0). */
        mov     $0x4c00, %ax
v86_exit:
        int     $0x21
        jmp     v86_exit

/* The V86 handler of INT 0x42: AX = 2 * AX + 1. Its IRET at IOPL 0 is #GP(0), emulated by the monitor. */
v86_int42:
        add     %ax, %ax
        inc     %ax
v86_iret:
        iret

/* ---- phase 2: IOPL 3 ---- */
v86_phase2:
        /* STI, CLI, PUSHF, POPF run without a trap; the pushed FLAGS show IOPL 3 (and IF 0: the
           STI shadow covers the CLI, so no interrupt window opens). */
        sti
        cli
        pushf
        pop     %ax
        mov     %ax, %es:8
        push    %ax
        popf
        /* INT 0x80 at IOPL 3 goes through the IDT (gate DPL 3) straight to the ring-0 handler. */
        int     $0x80
        jmp     v86_phase2

hello:  .asciz  "v86: hello from virtual-8086 mode over COM1\n"
v86_blob_end:

        .code32
        .section .note.GNU-stack, "", @progbits
