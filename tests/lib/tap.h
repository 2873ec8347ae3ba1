/* tap.h - the Test Anything Protocol for C tests, header only.
 *
 * Each check prints "ok N - what" or "not ok N - what" with the values that
 * differed; tap_done() prints the plan and returns the exit status, so a
 * test's main ends with `return tap_done();`. */
#ifndef KD_TAP_H
#define KD_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused))
static int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

/* |got - want| <= tol, printing both on failure. */
__attribute__((format(printf, 4, 5), unused))
static int tap_near(double got, double want, double tol, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	int cond = fabs(got - want) <= tol;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tap_ok(cond, "%s", what);
	if (!cond)
		printf("# got %.17g want %.17g (tol %.3g)\n", got, want, tol);
	return cond;
}

__attribute__((unused))
static void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

__attribute__((unused))
static int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
