/*
 * proto.c - the control socket's frames: building, bounded reading and
 * parsing of requests and answers (the format is described in proto.h).
 *
 * Everything read is hostile until parsed: lengths are capped before any
 * allocation, every string must end in a NUL inside its frame, and a
 * peer that goes quiet is dropped after CONTROL_TIMEOUT_MS.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/proto.h"
#include "util/mono.h"

/* control_frame_len - the length a frame header announces, -1 if too big */
long
control_frame_len(const unsigned char hdr[4])
{
	unsigned long n = (unsigned long)hdr[0] << 24 | (unsigned long)hdr[1] << 16 |
	    (unsigned long)hdr[2] << 8 | hdr[3];

	return n > CONTROL_MAX_FRAME ? -1 : (long)n;
}

/* put_len - a frame header */
static int
put_len(struct buf *b, size_t n)
{
	unsigned char h[4] = { (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	    (unsigned char)(n >> 8), (unsigned char)n };

	return n > CONTROL_MAX_FRAME ? -1 : buf_append(b, h, 4);
}

/* control_req_build - one request frame into b; 0, or -1 if too big */
int
control_req_build(struct buf *b, unsigned flags, int argc, char *const argv[])
{
	size_t n = 1;
	unsigned char f = (unsigned char)flags;

	if (argc < 1 || argc > CONTROL_MAX_ARGS)
		return -1;
	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	if (put_len(b, n) < 0 || buf_append(b, &f, 1) < 0)
		return -1;
	for (int i = 0; i < argc; i++)
		if (buf_append(b, argv[i], strlen(argv[i]) + 1) < 0)
			return -1;
	return 0;
}

/*
 * control_req_parse - a request's bytes (without the header) into r; the
 * strings point into data. 0, or -1 with why.
 */
int
control_req_parse(unsigned char *data, size_t len, struct control_req *r,
    const char **why)
{
	size_t off = 1;
	unsigned char *nul;

	memset(r, 0, sizeof(*r));
	if (len < 2) {
		*why = "empty request";
		return -1;
	}
	if (data[0] & ~(CONTROL_F_JSON | CONTROL_F_EMERGENCY)) {
		*why = "unknown flags";
		return -1;
	}
	r->flags = data[0];
	while (off < len) {
		if ((nul = memchr(data + off, 0, len - off)) == NULL) {
			*why = "an argument without its terminating NUL";
			return -1;
		}
		if (r->argc == CONTROL_MAX_ARGS) {
			*why = "too many arguments";
			return -1;
		}
		r->argv[r->argc++] = (char *)data + off;
		off = (size_t)(nul - data) + 1;
	}
	if (r->argv[0][0] == 0) {
		*why = "no verb";
		return -1;
	}
	return 0;
}

/* control_ans_build - one answer frame into b */
int
control_ans_build(struct buf *b, int status, const struct buf *out,
    const struct buf *err)
{
	unsigned char s = (unsigned char)status;
	size_t n = 1 + out->len + 1 + err->len + 1;

	if (status < 0 || status > 255 || memchr(out->data ? (void *)out->data : "", 0,
	    out->len) || memchr(err->data ? (void *)err->data : "", 0, err->len))
		return -1;
	if (put_len(b, n) < 0 || buf_append(b, &s, 1) < 0 ||
	    buf_append(b, out->data ? (void *)out->data : "", out->len) < 0 ||
	    buf_putc(b, 0) < 0 ||
	    buf_append(b, err->data ? (void *)err->data : "", err->len) < 0 ||
	    buf_putc(b, 0) < 0)
		return -1;
	return 0;
}

/* control_ans_parse - an answer's bytes into a; 0, or -1 with why */
int
control_ans_parse(unsigned char *data, size_t len, struct control_ans *a,
    const char **why)
{
	unsigned char *nul;

	memset(a, 0, sizeof(*a));
	if (len < 3 || data[len - 1] != 0) {
		*why = "truncated answer";
		return -1;
	}
	a->status = data[0];
	a->out = (const char *)data + 1;
	nul = memchr(data + 1, 0, len - 1);
	if (nul == NULL || (size_t)(nul - data) + 1 >= len) {
		*why = "an answer without its second field";
		return -1;
	}
	a->err = (const char *)nul + 1;
	if (memchr(nul + 1, 0, len - (size_t)(nul - data) - 1) != data + len - 1) {
		*why = "an answer with extra fields";
		return -1;
	}
	return 0;
}

/* ms_left - milliseconds until deadline (a monotonic time in ms) */
static int
ms_left(long long deadline)
{
	long long now = mono_ms();

	return deadline > now ? (int)(deadline - now) : 0;
}

/* deadline_in - a deadline ms from now */
static long long
deadline_in(int ms)
{
	return mono_ms() + ms;
}

/* read_exact - n bytes before the deadline; 0, or -1 with why */
static int
read_exact(int fd, unsigned char *p, size_t n, long long deadline,
    const char **why)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t got;

	while (n > 0) {
		int left = ms_left(deadline), r;

		if (left == 0 || (r = poll(&pfd, 1, left)) == 0) {
			*why = "timed out";
			return -1;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (got = read(fd, p, n)) < 0) {
			if (r >= 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			*why = strerror(errno);
			return -1;
		}
		if (got == 0) {
			*why = "the peer closed the connection";
			return -1;
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/*
 * control_read_frame - one frame's bytes (without the header) into b,
 * within timeout_ms in all. 0, or -1 with why.
 */
int
control_read_frame(int fd, struct buf *b, int timeout_ms, const char **why)
{
	long long deadline = deadline_in(timeout_ms);
	unsigned char h[4];
	long n;

	buf_reset(b);
	if (read_exact(fd, h, 4, deadline, why) < 0)
		return -1;
	if ((n = control_frame_len(h)) < 0) {
		*why = "frame too large";
		return -1;
	}
	if (buf_reserve(b, (size_t)n + 1) < 0) {
		*why = "out of memory";
		return -1;
	}
	if (read_exact(fd, b->data, (size_t)n, deadline, why) < 0)
		return -1;
	b->len = (size_t)n;
	return 0;
}

/* control_write_all - all of p within timeout_ms; 0 or -1 */
int
control_write_all(int fd, const void *p, size_t n, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	long long deadline = deadline_in(timeout_ms);
	const unsigned char *c = p;
	ssize_t put;

	while (n > 0) {
		int left = ms_left(deadline), r;

		if (left == 0 || (r = poll(&pfd, 1, left)) == 0)
			return -1;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if ((put = write(fd, c, n)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		c += put;
		n -= (size_t)put;
	}
	return 0;
}
