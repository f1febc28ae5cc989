/*
 * hostile_parse.c - time transform_post (what the sandboxed worker runs)
 * on one message file, in process, for bench/hostile.
 *
 *   hostile_parse FILE HTML [REPEAT]   HTML: keep, strip-remote or text
 *
 * Prints "seconds=S result=R len=N" with S the CPU time of the fastest of
 * REPEAT runs (both renderings, as the worker makes them on a pseudonymous
 * list with a footer and strip_signature on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/transform.h"

/* slurp - the whole file */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) < 0)
			break;
	fclose(f);
	*len = b.len;
	return b.data ? (char *)b.data : strdup("");
}

/* cpu_now - process CPU seconds */
static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct list_cfg list;
	struct transform_in in;
	struct transform_out out;
	double best = 1e9, t0, t;
	int reps = argc > 3 ? atoi(argv[3]) : 1;
	enum result r = PERMFAIL;
	size_t len;
	char *m;

	if (argc < 3 || (m = slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "usage: hostile_parse FILE keep|strip-remote|text [REPEAT]\n");
		return 2;
	}
	memset(&cfg, 0, sizeof(cfg));
	memset(&list, 0, sizeof(list));
	cfg.hostname = "lists.example";
	list.name = "hostile";
	list.description = "";
	list.subject_prefix = "[hostile]";
	list.footer = "footer";
	list.archive_url = "";
	list.strip_signature = 1;
	list.html = !strcmp(argv[2], "keep") ? HTML_KEEP : !strcmp(argv[2], "text") ? HTML_TEXT :
	    HTML_STRIP_REMOTE;
	memset(&in, 0, sizeof(in));
	in.cfg = &cfg;
	in.list = &list;
	in.qid = "0123456789ABCDEF";
	in.msg = m;
	in.len = len;
	in.want_real = 1;
	in.want_anon = 1;
	for (int i = 0; i < (reps > 0 ? reps : 1); i++) {
		t0 = cpu_now();
		r = transform_post(&in, &out);
		t = cpu_now() - t0;
		if (getenv("HOSTILE_DUMP") && i == 0)
			fwrite(out.part[TP_BODY].data, 1, out.part[TP_BODY].len, stderr);
		transform_out_free(&out);
		if (t < best)
			best = t;
	}
	printf("seconds=%.4f result=%s len=%zu reason=%s\n", best, r == OK ? "ok" : r == TEMPFAIL ?
	    "tempfail" : "permfail", len, r == OK ? "" : out.reason);
	free(m);
	return 0;
}
