/*
 * Raw i386 Linux system calls through int $0x80, no libc.
 *
 * ABI (arch/x86/entry/entry_32.S, "int $0x80" entry): the call number in
 * EAX, arguments in EBX, ECX, EDX, ESI, EDI, EBP; the result in EAX, where
 * -4095..-1 is a negated errno. Numbers from
 * arch/x86/entry/syscalls/syscall_32.tbl.
 */
#ifndef MOAT_INIT_SYSCALL_H
#define MOAT_INIT_SYSCALL_H

#define NR_exit 1
#define NR_read 3
#define NR_write 4
#define NR_open 5
#define NR_close 6
#define NR_getpid 20
#define NR_mount 21
#define NR_pause 29
#define NR_reboot 88

/* include/uapi/asm-generic/fcntl.h */
#define O_RDONLY 0

/* include/uapi/asm-generic/errno-base.h, errno.h */
#define EBUSY 16

/* include/uapi/linux/reboot.h */
#define LINUX_REBOOT_MAGIC1 0xfee1deadu
#define LINUX_REBOOT_MAGIC2 672274793
#define LINUX_REBOOT_CMD_POWER_OFF 0x4321fedcu

static inline long syscall1(long nr, long a)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "0"(nr), "b"(a) : "memory");
	return ret;
}

static inline long syscall3(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "0"(nr), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return ret;
}

static inline long syscall5(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "0"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return ret;
}

static inline long sys_read(int fd, void *buf, unsigned long len)
{
	return syscall3(NR_read, fd, (long)buf, (long)len);
}

static inline long sys_write(int fd, const void *buf, unsigned long len)
{
	return syscall3(NR_write, fd, (long)buf, (long)len);
}

static inline long sys_open(const char *path, int flags)
{
	return syscall3(NR_open, (long)path, flags, 0);
}

static inline long sys_close(int fd)
{
	return syscall1(NR_close, fd);
}

static inline long sys_getpid(void)
{
	return syscall1(NR_getpid, 0);
}

static inline long sys_mount(const char *source, const char *target,
			     const char *type, unsigned long flags,
			     const void *data)
{
	return syscall5(NR_mount, (long)source, (long)target, (long)type,
			(long)flags, (long)data);
}

static inline long sys_pause(void)
{
	return syscall1(NR_pause, 0);
}

static inline long sys_reboot(unsigned int cmd)
{
	return syscall3(NR_reboot, (long)LINUX_REBOOT_MAGIC1,
			LINUX_REBOOT_MAGIC2, (long)cmd);
}

static inline __attribute__((noreturn)) void sys_exit(int status)
{
	for (;;)
		syscall1(NR_exit, status);
}

#endif
