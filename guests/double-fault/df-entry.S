/* The #DF task's entry (the error code is on its fresh stack) and the
   stack overflow that leads there. */
        .text
        .globl  df_task_entry
df_task_entry:
        popl    df_error
        mov     %esp, df_esp
        call    df_task_body
1:      hlt
        jmp     1b

/* void overflow_stack(void *esp): ESP = esp, then a PUSH below it. */
        .globl  overflow_stack, overflow_push
overflow_stack:
        mov     4(%esp), %esp
overflow_push:
        push    %eax
1:      hlt
        jmp     1b

        .section .note.GNU-stack, "", @progbits
