/* config.h - the instance configuration and the per-list files (libconfig). */
#ifndef MLIST_CONFIG_H
#define MLIST_CONFIG_H

#include <stddef.h>

#include "../util/buf.h"

#define LIST_NAME_MAX	64

enum posting { POSTING_MEMBERS, POSTING_MODERATED, POSTING_OPEN, POSTING_ANNOUNCE };
enum verp { VERP_NEVER, VERP_ALWAYS };
enum post_auth { AUTH_SENDER, AUTH_CONFIRM, AUTH_SIGNATURE };

struct listen_cfg {
	char		*address;
	int		 port;
	int		 lmtp;		/* protocol = "lmtp" */
};

struct list_cfg {
	char		*file;
	char		*name;
	char		*description;
	int		 posting;	/* enum posting */
	int		 post_auth;	/* enum post_auth */
	char		*subject_prefix;
	char		*footer;
	long long	 max_message_size;	/* 0: instance limit */
	int		 max_posts_per_day;	/* 0: no limit */
	char		*archive_url;		/* "" : no archive */
	int		 verp;			/* enum verp */
	int		 retry_max;		/* seconds before a delivery fails */
	int		 bounce_limit;		/* score that disables delivery */
	int		 bounce_decay_days;
};

struct config {
	char		*file;
	char		*dir;		/* directory of file: base of relative paths */
	char		*hostname;
	struct listen_cfg *listen;
	int		 nlisten;
	char		*state_dir;
	char		*lists_dir;
	char		*templates_dir;
	char		*pid_file;
	/* relay: either host/port or maildir */
	char		*relay_host;
	int		 relay_port;
	int		 relay_connections;
	int		 relay_batch;
	int		 relay_timeout;
	char		*relay_maildir;
	int		 retry_base;	/* first retry after this many seconds, doubling */
	int		 retry_cap;	/* ... up to this interval */
	/* limits */
	long long	 max_message_size;
	int		 max_recipients;
	int		 max_connections;
	int		 command_timeout;
	int		 data_timeout;
	/* lists */
	struct list_cfg	*lists;
	int		 nlists;
};

#define CONFIG_SKIP_LISTS	1

struct config *config_load(const char *path, struct buf *errors);
struct config *config_load_flags(const char *path, int flags, struct buf *errors);
void	config_free(struct config *);
const char *config_default_path(void);
const struct list_cfg *config_list_find(const struct config *, const char *name);
int	config_list_name_ok(const char *name);
int	config_list_load(const char *file, struct list_cfg *, struct buf *errors);
void	config_list_free(struct list_cfg *);
int	config_list_set(const char *file, const char *key, const char *value, struct buf *err);
int	config_list_get(const char *file, const char *key, struct buf *out, struct buf *err);
int	config_list_create(const struct config *, const char *name, const char *tmpl,
	    struct buf *err);
const char *config_posting_name(int);
const char *config_list_keys(void);

#endif
