/*
 * list.c - the actions on a list as a whole that need no quorum: create
 * it (its file and its keys), send its digest now, rotate its DKIM key,
 * delete it; and the queue manager's job that makes the keys of a list
 * created while the daemon was stopped.
 *
 * A list's DKIM and OpenPGP keys are made here, by the daemon, and kept
 * only sealed in the store: mlistctl never makes one (without a running
 * daemon 'list create' writes the list file alone, and the job below
 * makes the keys at the daemon's first turn).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/listkey.h"
#include "mail/listpgp.h"
#include "util/fsutil.h"
#include "util/log.h"

/*
 * make_keys - the list's first DKIM key and its OpenPGP key, in the
 * caller's transaction: 0, or -1 with the cause in store_errmsg
 */
static int
make_keys(struct pipeline *p, const char *list, char *sel, size_t n,
    char fpr[OPENPGP_FPR_SIZE])
{
	struct openpgp_secret *k;
	enum result r;

	if (listkey_create(p->st, list, sel, n) < 0 ||
	    listpgp_get(p->st, list, p->cfg->hostname, &k) < 0)
		return -1;
	r = openpgp_list_fingerprint(k, fpr);
	openpgp_secret_free(k);
	if (r != OK) {
		store_fail_cause(p->st, "the list's OpenPGP key has no "
		    "fingerprint");
		return -1;
	}
	return 0;
}

/* created - what list create made, for the operator */
static void
created(struct act_ctx *c, const char *name, const char *sel,
    const char *fpr)
{
	if (c->json) {
		buf_puts(c->out, "{\"created\":");
		act_json_str(c->out, name);
		buf_puts(c->out, ",\"selector\":");
		act_json_str(c->out, sel);
		buf_puts(c->out, ",\"openpgp\":");
		act_json_str(c->out, fpr);
		buf_puts(c->out, "}\n");
		return;
	}
	buf_printf(c->out, "created list %s@%s\n", name, c->p->cfg->hostname);
	buf_printf(c->out, "; DKIM selector %s (publish it: 'mlistctl keys %s'"
	    "), OpenPGP key %s\n", sel, name, fpr);
}

/* unmake - a list file written, its keys not committed: it goes again */
static void
unmake(struct act_ctx *c, const char *name)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s.conf",
	    c->p->cfg->lists_dir, name);

	if (n < 0 || (size_t)n >= sizeof(path) || unlink(path) < 0 ||
	    fs_fsync_dir(path) < 0)
		log_warn("NOQUEUE control: list=%s: the list file of a failed "
		    "create stays: %s", name, strerror(errno));
}

/*
 * act_list_create - list create NAME [TEMPLATE]: the list file from
 * templates_dir/TEMPLATE.conf, then its keys in one transaction of its
 * own; a failure removes the file again, so a list has both or neither
 */
int
act_list_create(struct act_ctx *c, const char *name, const char *tmpl)
{
	struct pipeline *p = c->p;
	char sel[SELECTOR_MAX], fpr[OPENPGP_FPR_SIZE];
	struct buf err;
	int rc;

	buf_init(&err, 0);
	if (config_list_create(p->cfg, name, tmpl, &err) < 0) {
		rc = act_fail(c, ACT_FAILED, "%s", buf_cstr(&err));
		buf_free(&err);
		return rc;
	}
	buf_free(&err);
	if (store_begin(p->st) < 0 || make_keys(p, name, sel, sizeof(sel),
	    fpr) < 0 || store_commit(p->st) < 0) {
		rc = act_fail(c, ACT_FAILED, "list %s not created: its keys "
		    "could not be made: %s", name, store_errmsg(p->st));
		store_rollback(p->st);
		unmake(c, name);
		return rc;
	}
	act_reload(c);
	log_info("NOQUEUE control: list=%s created with its keys, selector %s "
	    "result=ok", name, sel);
	created(c, name, sel, fpr);
	return ACT_DONE;
}

/*
 * act_list_keys_due - a list with no signing key at all: made while the
 * daemon was stopped (a list from before OpenPGP has its DKIM key, and
 * gets its OpenPGP key through 'keys openpgp', audited)
 */
int
act_list_keys_due(struct pipeline *p, const struct list_cfg *l)
{
	return store_key_count(p->st, l->name) == 0;
}

/* act_list_keys_job - that list's keys, made by the daemon now */
int
act_list_keys_job(struct pipeline *p, const struct list_cfg *l,
    struct why *why)
{
	char sel[SELECTOR_MAX], fpr[OPENPGP_FPR_SIZE];

	if (make_keys(p, l->name, sel, sizeof(sel), fpr) < 0) {
		why_cause(why, "the list's keys", store_errmsg(p->st));
		return -1;
	}
	log_info("NOQUEUE qmgr: list=%s had no keys; made them, selector %s "
	    "result=ok", l->name, sel);
	return 0;
}

/* act_digest_now - the digest goes out at the queue manager's next turn */
int
act_digest_now(struct act_ctx *c, const struct list_cfg *l)
{
	if (store_digest_due_now(c->p->st, l->name) != STORE_OK)
		return act_dberr(c);
	if (c->json) {
		buf_puts(c->out, "{\"digest\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, ",\"due\":true}\n");
	} else
		buf_printf(c->out, "%s: the digest goes out at once if posts are waiting for it\n",
		    l->name);
	return ACT_DONE;
}

/* act_keys_rotate - a new DKIM key signs from now on; the old ones stay listed */
int
act_keys_rotate(struct act_ctx *c, const struct list_cfg *l)
{
	char sel[SELECTOR_MAX];

	if (listkey_create(c->p->st, l->name, sel, sizeof(sel)) < 0)
		return act_dberr(c);
	if (c->json) {
		buf_puts(c->out, "{\"list\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, ",\"selector\":");
		act_json_str(c->out, sel);
		buf_puts(c->out, "}\n");
	} else
		buf_printf(c->out, "; new key %s signs %s's posts from now on; publish it before "
		    "the next post\n", sel, l->name);
	return ACT_DONE;
}

/* act_list_delete - the list file and the members go; mail already queued is delivered */
int
act_list_delete(struct act_ctx *c, const struct list_cfg *l)
{
	if (unlink(l->file) < 0 || fs_fsync_dir(l->file) < 0)
		return act_fail(c, ACT_FAILED, "cannot remove %s: %s", l->file, strerror(errno));
	act_reload(c);
	if (store_list_purge(c->p->st, l->name) != STORE_OK)
		return act_fail(c, ACT_ERROR, "list file removed, but its members could not be: %s",
		    store_errmsg(c->p->st));
	if (c->json) {
		buf_puts(c->out, "{\"deleted\":");
		act_json_str(c->out, l->name);
		buf_puts(c->out, "}\n");
	} else
		buf_printf(c->out, "deleted list %s\n", l->name);
	return ACT_DONE;
}
