/* Ring-3 instructions that must raise #GP(0) (SDM Vol. 2: CLI with
   CPL > IOPL, HLT with CPL > 0), at known addresses for the #GP handler,
   which checks the faulting EIP and steps over the 1-byte instruction. */
        .text
        .globl  user_cli, user_hlt
user_cli:
        cli
        ret
user_hlt:
        hlt
        ret

        .section .note.GNU-stack, "", @progbits
