/* fuzz_config.c - libFuzzer: a list file through libconfig and the validation table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../mlistd/mail/config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct list_cfg l;
	struct buf errs;
	FILE *fp;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz-config-%ld.conf", (long)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, fp);
	fclose(fp);
	buf_init(&errs, 1 << 20);
	config_list_load(path, &l, &errs);
	config_list_free(&l);
	buf_free(&errs);
	return 0;
}
