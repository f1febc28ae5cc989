/*
 * list.c - the actions on a list as a whole that need no quorum: send
 * its digest now, rotate its DKIM key, delete it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actions/actions.h"
#include "mail/listkey.h"
#include "util/fsutil.h"

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
	c->reload = 1;
	kill(getppid(), SIGHUP);	/* the SMTP side forgets the list too */
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
