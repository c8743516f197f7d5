/* What GCC may call even in freestanding code (struct copies, zeroing). */
#include <stddef.h>

void *memset(void *d, int c, size_t n)
{
  unsigned char *p = d;
  while (n--)
    *p++ = (unsigned char)c;
  return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
  const unsigned char *p = a, *q = b;
  for (; n--; p++, q++)
    if (*p != *q)
      return *p - *q;
  return 0;
}
