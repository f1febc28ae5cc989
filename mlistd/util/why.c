/*
 * why.c - the cause of a failure, carried from the step that failed to the
 * one log line that reports it. The first cause set wins: it is the one
 * nearest to the fault, and what fails after it is only a consequence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "why.h"

/* why_set - the cause, unless one was set already */
void
why_set(struct why *w, const char *fmt, ...)
{
	va_list ap;

	if (!w || *w->text)
		return;
	va_start(ap, fmt);
	if (vsnprintf(w->text, sizeof(w->text), fmt, ap) < 0)
		snprintf(w->text, sizeof(w->text), "(cause unprintable)");
	va_end(ap);
}

/*
 * why_cause - "step: cause"; a library's "not an error" (its last message
 * when the fault was not its own) says nothing, so only the step is kept
 */
void
why_cause(struct why *w, const char *step, const char *cause)
{
	if (!cause || !*cause || strcmp(cause, "not an error") == 0)
		why_set(w, "%s failed", step);
	else
		why_set(w, "%s: %s", step, cause);
}

/* why_text - the cause, or a placeholder that says none was recorded */
const char *
why_text(const struct why *w)
{
	return *w->text ? w->text : "cause not recorded";
}
