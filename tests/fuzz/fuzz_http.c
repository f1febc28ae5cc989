/* fuzz_http.c - libFuzzer: the one-click endpoint (request framing, path, methods) on arbitrary bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../mlistd/ingest/http.h"

static struct config cfg;
static struct list_cfg list;
static struct spool sp;
static struct keys *keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char master[KEYS_LEN] = { 1 };
	char dir[] = "/tmp/fuzz_http.XXXXXX";
	struct buf err;

	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		abort();
	keys = keys_from_master(master);
	buf_init(&err, 0);
	if (spool_open(&sp, dir, keys, &err) < 0)
		abort();
	list.name = "demo";
	list.one_click_url = "https://lists.example/u/";
	cfg.hostname = "lists.example";
	cfg.lists = &list;
	cfg.nlists = 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_session s;
	size_t off = 0;

	smtp_session_init(&s, &cfg, &sp, PROTO_HTTP, "127.0.0.1");
	/* in pieces, as a socket delivers them: the first byte picks the piece size */
	while (off < size && !s.close_after) {
		size_t n = size - off < (size_t)(data[0] % 64 + 1) ? size - off : (size_t)(data[0] % 64 + 1);

		http_input(&s, data + off, n);
		off += n;
	}
	if (!s.close_after)
		http_timeout(&s);
	if (!s.close_after || s.out.len == 0 || memcmp(s.out.data, "HTTP/1.1 ", 9) != 0)
		abort();	/* every request ends in one answer */
	smtp_session_free(&s);
	return 0;
}
