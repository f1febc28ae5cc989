/* result.c - names of results for result= in the log. */
#include "result.h"

/* result_name - ok, tempfail or permfail */
const char *
result_name(enum result r)
{
	return r == OK ? "ok" : r == TEMPFAIL ? "tempfail" : "permfail";
}
