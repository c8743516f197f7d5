/* Self-checks: each prints one line, "ok   <what>" or "FAIL <what>", and
   counts; check_summary prints "<guest>: N checks passed, M failed". */
#ifndef MOAT_GUEST_CHECK_H
#define MOAT_GUEST_CHECK_H
#include <stdint.h>

extern const char *check_guest_name;
extern uint32_t checks_passed, checks_failed;

/* Returns ok. */
int check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compares a value with its expectation and prints both. */
int check_eq(const char *what, uint32_t got, uint32_t want);
void check_summary(void);

#endif
