/* result.h - outcome of every operation on the message path. */
#ifndef MLIST_RESULT_H
#define MLIST_RESULT_H

/* Map to 2xx / 4xx / 5xx and to result= in the log. */
enum result {
	OK = 0,
	TEMPFAIL = 1,
	PERMFAIL = 2
};

const char *result_name(enum result);

#endif
