/* proto.h - the control socket's wire format: framed requests and answers. */
#ifndef MLIST_CONTROL_PROTO_H
#define MLIST_CONTROL_PROTO_H

#include <stddef.h>

#include "util/buf.h"

/*
 * A frame is a 4-byte big-endian length, then that many bytes. A request's
 * bytes: one flags byte, then NUL-terminated strings (the verb's words as
 * one string, "mod approve", then its arguments). An answer's bytes: one
 * status byte (the exit code mlistctl ends with), then two NUL-terminated
 * strings: what goes to standard output and what goes to standard error.
 */
#define CONTROL_MAX_FRAME	(16u * 1024 * 1024)	/* a member import of ~100k lines */
#define CONTROL_MAX_ARGS	48
#define CONTROL_TIMEOUT_MS	5000	/* a peer that sends nothing stalls nobody */

#define CONTROL_F_JSON		0x01
#define CONTROL_F_EMERGENCY	0x02

/* exit codes, shared by the daemon's answers and mlistctl */
enum control_status {
	CONTROL_DONE = 0,
	CONTROL_FAILED = 1,
	CONTROL_USAGE = 2,
	CONTROL_REQUESTED = 3	/* a request waits for the moderators' quorum */
};

struct control_req {
	unsigned	 flags;
	int		 argc;		/* argv[0] is the verb */
	char		*argv[CONTROL_MAX_ARGS + 1];
};

struct control_ans {
	int		 status;
	const char	*out, *err;	/* point into the parsed bytes */
};

long	control_frame_len(const unsigned char hdr[4]);
int	control_req_parse(unsigned char *data, size_t len, struct control_req *,
	    const char **why);
int	control_req_build(struct buf *, unsigned flags, int argc,
	    char *const argv[]);
int	control_ans_parse(unsigned char *data, size_t len, struct control_ans *,
	    const char **why);
int	control_ans_build(struct buf *, int status, const struct buf *out,
	    const struct buf *err);
int	control_read_frame(int fd, struct buf *, int timeout_ms,
	    const char **why);
int	control_write_all(int fd, const void *, size_t, int timeout_ms);

#endif
