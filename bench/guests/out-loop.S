/* Exit round-trip guest: N port writes to 0x80 (POST code port, no device
 * behind it, so the VMM's handler does nothing), then cli; hlt.
 * N comes in at the build as -defsym LOOPS=... */
    .code32
    .globl _start
_start:
    mov $LOOPS, %ecx
1:  out %al, $0x80
    loop 1b
    cli
    hlt
