/*
 * migration_index.c - the place in the store's migration list of the first
 * migration whose SQL holds a given part (st_migration_with), for the
 * end-to-end tests that wind a database back to just before one migration:
 * found by its SQL, so migrations appended after it never move the test.
 * Prints the number; exit 0 found, 1 none holds it, 2 bad usage.
 */
#include <stdio.h>

#include "mail/store_int.h"

int
main(int argc, char **argv)
{
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: migration_index SQL-PART\n");
		return 2;
	}
	if ((i = st_migration_with(argv[1])) < 0) {
		fprintf(stderr, "migration_index: no migration holds it\n");
		return 1;
	}
	if (printf("%d\n", i) < 0 || fflush(stdout) != 0)
		return 1;
	return 0;
}
