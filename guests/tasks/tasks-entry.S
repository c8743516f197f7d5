/* Entry points of the tasks guest's tasks and the instructions that switch
   to them. A task resumes where its TSS's EIP says (SDM §8.3): each entry
   ends with its switch back and a jump to its start, so entering it again
   runs it again. Register values are stored to globals before C code runs. */
        .text

/* Task B, entered by JMP: records its registers and EFLAGS, JMPs back to main (TSS 0x28). */
        .globl  task_b_entry
task_b_entry:
        mov     %eax, b_regs
        mov     %ecx, b_regs+4
        mov     %edx, b_regs+8
        mov     %ebx, b_regs+12
        mov     %esp, b_regs+16
        mov     %ebp, b_regs+20
        mov     %esi, b_regs+24
        mov     %edi, b_regs+28
        pushf
        popl    b_regs+32
        call    task_b_body
        ljmp    $0x28, $0
        .globl  task_b_resume
task_b_resume:
        jmp     task_b_entry

/* void jmp_to_b(void): known values in every register and CF, DF set, JMP to task B;
   what the registers and EFLAGS hold when main runs again goes to after_regs. */
        .globl  jmp_to_b, main_resume_jmp
jmp_to_b:
        push    %ebx
        push    %esi
        push    %edi
        push    %ebp
        mov     $0x13572468, %eax
        mov     $0x1111aaaa, %ebx
        mov     $0x2222bbbb, %ecx
        mov     $0x3333cccc, %edx
        mov     $0x4444dddd, %esi
        mov     $0x5555eeee, %edi
        mov     $0x6666ffff, %ebp
        pushl   $0x403                  /* EFLAGS: DF, CF (POPF, so every model sees them set) */
        popf
        ljmp    $0x30, $0
main_resume_jmp:
        pushf
        cld
        popl    after_regs+28
        mov     %eax, after_regs
        mov     %ebx, after_regs+4
        mov     %ecx, after_regs+8
        mov     %edx, after_regs+12
        mov     %esi, after_regs+16
        mov     %edi, after_regs+20
        mov     %ebp, after_regs+24
        pop     %ebp
        pop     %edi
        pop     %esi
        pop     %ebx
        ret

/* Task C, entered by CALL through a task gate: records EFLAGS (NT), returns by IRET. */
        .globl  task_c_entry, task_c_resume
task_c_entry:
        pushf
        popl    c_eflags
        call    task_c_body
        iret
task_c_resume:
        jmp     task_c_entry

/* uint32_t call_gate_c(void): EBX as main had it after the IRET back. */
        .globl  call_gate_c, main_resume_call
call_gate_c:
        push    %ebx
        mov     $0x600dca11, %ebx
        lcall   $0x40, $0
main_resume_call:
        mov     %ebx, %eax
        pop     %ebx
        ret

/* #DE task (IDT vector 0 is a task gate). */
        .globl  task_de_entry
task_de_entry:
        mov     %esp, de_esp
        call    task_de_body
        iret
        jmp     task_de_entry

        .globl  divide_by_zero, de_insn, de_after
divide_by_zero:
        xor     %edx, %edx
        mov     $1, %eax
        xor     %ecx, %ecx
de_insn:
        div     %ecx
de_after:
        ret

/* INT 0x41 task. */
        .globl  task_int_entry
task_int_entry:
        mov     %esp, int_esp
        call    task_int_body
        iret
        jmp     task_int_entry

        .globl  int_41, int_insn, int_after
int_41:
int_insn:
        int     $0x41
int_after:
        ret

/* #GP task (IDT vector 13 is a task gate): the error code is on its stack. */
        .globl  task_gp_entry
task_gp_entry:
        popl    gp_error
        mov     %esp, gp_esp
        call    task_gp_body
        iret
        jmp     task_gp_entry

/* Loads DS with a selector beyond the GDT limit: #GP(selector). */
        .globl  load_bad_ds, gp_insn, gp_after
load_bad_ds:
        mov     $0x1f8, %eax
gp_insn:
        mov     %ax, %ds
gp_after:
        ret

/* The task of the 16-bit TSS. Its CS has base task16_code, so IP 0 is here;
   it is 32-bit code that touches no stack (SS:SP of a 16-bit TSS). */
        .globl  task16_code, task16_after_iret
task16_code:
        mov     %eax, t16_eax
        mov     %ebx, t16_ebx
        mov     %esi, t16_esi
        movl    $1, t16_ran
        iret
task16_after_iret:
        jmp     task16_code

/* uint32_t call_tss16(void): CALL to the 16-bit TSS; EBX after the IRET back. */
        .globl  call_tss16, main_resume_call16
call_tss16:
        push    %ebx
        mov     $0x7777abcd, %ebx
        lcall   $0x60, $0
main_resume_call16:
        mov     %ebx, %eax
        pop     %ebx
        ret

        .section .note.GNU-stack, "", @progbits
