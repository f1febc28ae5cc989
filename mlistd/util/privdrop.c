/*
 * privdrop.c - give up root for good.
 *
 * mlistd starts as root only to bind its ports (and to read a master key
 * that may be root's); then it becomes the configured user, with no
 * supplementary groups, real, effective and saved ids all changed, and
 * checks that root cannot be had back. mlistctl does the same as soon as
 * it has read its configuration, so that every file it makes belongs to
 * the user the daemon runs as.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privdrop.h"

/* priv_user - the user's ids; -1 with the reason in err */
int
priv_user(const char *user, uid_t *uid, gid_t *gid, struct buf *err)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		buf_printf(err, "user \"%s\" does not exist: create it (adduser --system --group --no-create-home %s) "
		    "or set \"user\" in the configuration to the user mlistd should run as", user, user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		buf_printf(err, "user \"%s\" is root: name an unprivileged user", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* as_root - running as root with a user to become: 1 (ids filled), 0 nothing to do, -1 error */
static int
as_root(const char *user, uid_t *uid, gid_t *gid, struct buf *err)
{
	if (geteuid() != 0 || !user || !*user)
		return 0;
	return priv_user(user, uid, gid, err) < 0 ? -1 : 1;
}

/*
 * priv_become - root gives way to uid and gid for good, with no
 * supplementary group; 0, or -1 with why in err
 */
int
priv_become(uid_t uid, gid_t gid, const char *name, struct buf *err)
{
	struct rlimit none = { 0, 0 };

	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		buf_printf(err, "cannot become user \"%s\": %s", name,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		buf_printf(err, "root could be had back after becoming \"%s\"; "
		    "refusing to go on", name);
		return -1;
	}
	/* a change of user resets the dumpable flag: no core dumps, ever (they would hold keys) */
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}

/* priv_drop - become user if root (user "": stay); 0, or -1 with why in err */
int
priv_drop(const char *user, struct buf *err)
{
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = as_root(user, &uid, &gid, err)) <= 0)
		return r;
	return priv_become(uid, gid, user, err);
}

/* priv_chown - for init as root: a directory the daemon's user must own */
int
priv_chown(const char *path, const char *user, struct buf *err)
{
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = as_root(user, &uid, &gid, err)) <= 0)
		return r;
	if (chown(path, uid, gid) < 0) {
		buf_printf(err, "cannot give %s to \"%s\": %s", path, user, strerror(errno));
		return -1;
	}
	return 0;
}

/* priv_owner_ok - is path owned by user? (running as root: the daemon will be user) */
int
priv_owner_ok(const char *path, const char *user, struct buf *err)
{
	struct stat st;
	uid_t uid;
	gid_t gid;
	int r;

	if ((r = as_root(user, &uid, &gid, err)) <= 0)
		return r;
	if (stat(path, &st) < 0) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != uid) {
		buf_printf(err, "%s belongs to uid %ld, but mlistd runs as \"%s\": chown -R %s: %s (or make the "
		    "instance with 'mlistctl init' run as root, which gives it to that user)", path, (long)st.st_uid,
		    user, user, path);
		return -1;
	}
	return 0;
}
