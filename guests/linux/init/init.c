/*
 * moat-init: the /init (PID 1) of moat's Linux test guest. Static i386 ELF,
 * no libc: raw system calls only (syscall.h).
 *
 * It writes to fd 1, which the kernel opened on /dev/console (the serial
 * console with console=ttyS0), exactly these lines, in this order:
 *
 *   moat-init: hello from PID 1
 *   moat-init: primes below 20000: 2262
 *   moat-init: /proc/cpuinfo:
 *   <the contents of /proc/cpuinfo>
 *   moat-init: /proc/interrupts:
 *   <the contents of /proc/interrupts>
 *   moat-init: done
 *
 * then calls reboot(LINUX_REBOOT_CMD_POWER_OFF). If getpid() is not 1 it adds
 * "moat-init: warning: running as PID <n>" after the banner; a failing system
 * call prints "moat-init: error: <what> failed: -<errno>". If reboot returns,
 * it prints "moat-init: reboot returned -<errno>" and sleeps in pause()
 * forever (PID 1 must never exit: the kernel would panic).
 *
 * 2262 is pi(20000), the number of primes below 20000, a known value that
 * does not come from this program; the count is done by trial division so
 * that the guest executes many DIV instructions.
 */
#include "syscall.h"

#define STDOUT 1
#define PRIME_LIMIT 20000

static char file_buf[4096];

static unsigned long str_len(const char *s)
{
	unsigned long n = 0;

	while (s[n])
		n++;
	return n;
}

static void put(const char *s)
{
	sys_write(STDOUT, s, str_len(s));
}

/* Decimal text of n: the console has no printf. */
static void put_unsigned(unsigned long n)
{
	char digits[12];
	int i = sizeof(digits);

	digits[--i] = '\0';
	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	put(&digits[i]);
}

static void put_error(const char *what, long err)
{
	put("moat-init: error: ");
	put(what);
	put(" failed: -");
	put_unsigned((unsigned long)-err);
	put("\n");
}

static int is_prime(unsigned int n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (unsigned int d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

static unsigned int count_primes_below(unsigned int limit)
{
	unsigned int count = 0;

	for (unsigned int n = 2; n < limit; n++)
		count += (unsigned int)is_prime(n);
	return count;
}

/* The kernel does not mount /proc for an initramfs: do it (EBUSY = already). */
static void mount_proc(void)
{
	long r = sys_mount("proc", "/proc", "proc", 0, 0);

	if (r < 0 && r != -EBUSY)
		put_error("mount /proc", r);
}

/* Copies a whole file to the console, under a header line naming it. */
static void show_file(const char *path)
{
	long fd, n;

	put("moat-init: ");
	put(path);
	put(":\n");
	fd = sys_open(path, O_RDONLY);
	if (fd < 0) {
		put_error(path, fd);
		return;
	}
	while ((n = sys_read((int)fd, file_buf, sizeof(file_buf))) > 0)
		sys_write(STDOUT, file_buf, (unsigned long)n);
	if (n < 0)
		put_error(path, n);
	sys_close((int)fd);
}

static void power_off(void)
{
	long r = sys_reboot(LINUX_REBOOT_CMD_POWER_OFF);

	put("moat-init: reboot returned -");
	put_unsigned((unsigned long)-r);
	put("\n");
	for (;;)
		sys_pause();
}

int main(void)
{
	long pid = sys_getpid();

	put("moat-init: hello from PID 1\n");
	if (pid != 1) {
		put("moat-init: warning: running as PID ");
		put_unsigned((unsigned long)pid);
		put("\n");
	}

	put("moat-init: primes below 20000: ");
	put_unsigned(count_primes_below(PRIME_LIMIT));
	put("\n");

	mount_proc();
	show_file("/proc/cpuinfo");
	show_file("/proc/interrupts");

	put("moat-init: done\n");
	power_off();
	return 0;
}
