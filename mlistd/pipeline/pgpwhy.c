/*
 * pgpwhy.c - the worker's and the engine's reasons for refusing a mail
 * or a key, as our codes and their pieces.
 *
 * The worker writes codes ("@CODE" and "\tNAME=VALUE", as the audit log
 * does): worded here by the piece [why-CODE].
 * The words come from mail/openpgp_key.c and mail/openpgp.c (and, inside
 * some of them, librnp's own result string): English, and librnp's may
 * change with its version. A member is told the code's piece instead
 * ([why-pgp-*], translatable); what is not known here is the catch-all
 * [why-pgp-error], never the text itself. tests/unit/test_pgpwhy.c feeds
 * the engine bad keys, so that a reworded engine text that this table no
 * longer knows is found.
 */
#include <string.h>

#include "mail/audit.h"
#include "pipeline/pgpwhy.h"

/* the start of each of the engine's texts, and its code */
static const struct {
	const char	*start;
	enum reason_id	 code;
} why_rows[] = {
	{ "keydata is not base64", REASON_PGP_UNREADABLE },
	{ "no \"", REASON_PGP_UNREADABLE },	/* no armoured key block */
	{ "the armoured key block does not decode", REASON_PGP_UNREADABLE },
	{ "not an OpenPGP", REASON_PGP_UNREADABLE },
	{ "no key data", REASON_PGP_UNREADABLE },
	{ "cannot read key data", REASON_PGP_UNREADABLE },
	{ "this is a SECRET key", REASON_PGP_SECRET },
	{ "v3 keys", REASON_PGP_VERSION },
	{ "key version", REASON_PGP_VERSION },
	{ "the encryption key is under", REASON_PGP_WEAK },
	{ "no valid encryption subkey", REASON_PGP_NO_SUBKEY },
	{ "the key is revoked", REASON_PGP_REVOKED },
	{ "the key has expired", REASON_PGP_EXPIRED },
	{ "the key has no valid self-signature", REASON_PGP_NO_SELF_SIG },
	{ "the key has no valid user ID", REASON_PGP_NO_UID },
	{ "send exactly one public key", REASON_PGP_NOT_ONE },
	{ "the key is larger than", REASON_PGP_TOO_BIG },
	{ "it could not be decrypted", REASON_PGP_UNOPENED },
	{ "the list's key did not load", REASON_PGP_UNOPENED },
	{ "the From: inside the encryption", REASON_PGP_FOREIGN_FROM },
	{ "it holds no OpenPGP message", REASON_PGP_NO_MESSAGE },
	{ "the message is not encrypted", REASON_PGP_NO_MESSAGE },
	{ "cannot decrypt", REASON_PGP_UNOPENED },
	{ "encrypted without integrity", REASON_PGP_NO_INTEGRITY },
};

/*
 * pgpwhy_reason - the code of the engine's text why; REASON_PGP_ERROR
 * (the list could not judge it) for any other text
 */
enum reason_id
pgpwhy_reason(const char *why)
{
	size_t n = sizeof(why_rows) / sizeof(why_rows[0]);

	for (size_t i = 0; i < n; i++)
		if (strncmp(why, why_rows[i].start,
		    strlen(why_rows[i].start)) == 0)
			return why_rows[i].code;
	/* "ALG key of N bits: at least M needed" (check_primary) */
	if (strstr(why, " bits: at least ") != NULL)
		return REASON_PGP_WEAK;
	return REASON_PGP_ERROR;
}

/*
 * pgpwhy_code - the engine's text why as a worker's code, for the sandbox
 * to hand on: "@CODE" (fallback for a text the table does not know) and
 * the text as "engine", which no piece shows (for the log, if any)
 */
void
pgpwhy_code(const char *why, enum reason_id fallback, char *out, size_t n)
{
	enum reason_id code = pgpwhy_reason(why);

	if (code == REASON_PGP_ERROR)
		code = fallback;
	(void)audit_code(out, n, reason_code(code),
	    (const char *[]){ "engine", why, NULL });
}

/*
 * pgpwhy_words - why in the member's words, into out: a code of the
 * worker's by its piece; other text, which the member never reads, as
 * the engine's code it maps to, else fallback's piece. The caller logs
 * why itself, for the administrator.
 */
void
pgpwhy_words(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, const char *why, enum reason_id fallback,
    char *out, size_t n)
{
	enum reason_id code = pgpwhy_reason(why);

	if (code == REASON_PGP_ERROR)
		code = fallback;

	if (audit_words(list, inst, ctx, "why-", why, out, n) == 0)
		return;
	notice_reason(list, inst, ctx, code, NULL, out, n);
}
