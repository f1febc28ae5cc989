/* test_hex.c - hex_digit: every byte value, both cases, nothing else. */
#include "testutil.h"

#include "../../mlistd/util/hex.h"

START_TEST(every_byte)
{
	static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
	int want[384], c, i;

	/* bytes as a signed or an unsigned char: -128..255 */
	for (c = 0; c < 384; c++)
		want[c] = -1;
	for (i = 0; i < 16; i++) {
		want[128 + lower[i]] = i;
		want[128 + upper[i]] = i;
	}
	for (c = -128; c < 256; c++)
		ck_assert_msg(hex_digit(c) == want[128 + c], "byte %d: %d, not %d", c,
		    hex_digit(c), want[128 + c]);
	ck_assert_int_eq(hex_digit('F'), 15);
	ck_assert_int_eq(hex_digit('g'), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, every_byte);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
