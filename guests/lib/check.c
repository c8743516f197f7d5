#include "check.h"
#include "print.h"

const char *check_guest_name = "guest";
uint32_t checks_passed, checks_failed;

int check(int ok, const char *fmt, ...)
{
  va_list ap;
  kprintf("%s", ok ? "ok   " : "FAIL ");
  va_start(ap, fmt);
  kvprintf(fmt, ap);
  va_end(ap);
  kprintf("\n");
  if (ok)
    checks_passed++;
  else
    checks_failed++;
  return ok;
}

int check_eq(const char *what, uint32_t got, uint32_t want)
{
  if (got == want)
    return check(1, "%s = 0x%x", what, got);
  return check(0, "%s = 0x%x, want 0x%x", what, got, want);
}

void check_summary(void)
{
  kprintf("%s: %u checks passed, %u failed\n", check_guest_name, checks_passed, checks_failed);
}
