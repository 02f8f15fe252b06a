/* The two C23 entry points bochscpu-python 0.4.0's wheel was linked against
 * (glibc ≥ 2.38) although its tag says it runs on older glibc; Debian 12 has
 * 2.36. bochs_call.py builds this with cc and loads it before bochscpu. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

unsigned long long __isoc23_strtoull(const char *s, char **end, int base) {
	return strtoull(s, end, base);
}

int __isoc23_sscanf(const char *s, const char *format, ...) {
	va_list ap;
	va_start(ap, format);
	int n = vsscanf(s, format, ap);
	va_end(ap);
	return n;
}
