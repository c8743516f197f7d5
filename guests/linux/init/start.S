/*
 * Process entry of moat-init. The kernel starts an ELF at e_entry with ESP
 * at argc (then argv, envp, auxv: the i386 System V ABI process stack);
 * moat-init uses none of them. Align the stack as the ABI expects at a call,
 * run main, and exit with its status if it ever returns.
 */
	.text
	.globl	_start
	.type	_start, @function
_start:
	xorl	%ebp, %ebp		/* outermost frame for debuggers */
	andl	$-16, %esp
	call	main
	movl	%eax, %ebx		/* exit(status) */
	movl	$1, %eax		/* NR_exit */
	int	$0x80
1:	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
