/*
 * test_smtp_client.c - the relay client's pipelined path: a body whose
 * relay answered 250 counts as delivered even when the connection breaks
 * while the next transaction's envelope goes out behind it (else the
 * copy is sent again: a duplicate). The relay is the far end of a
 * socketpair whose replies are written before the client starts.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>

#include "testutil.h"
#include "../../mlistd/delivery/deliver_smtp.h"

#define NEXT_RCPTS	400	/* an envelope far over the socket buffer */

struct relay {
	int	fd;
	size_t	body_end;	/* bytes read up to the first body's dot */
};

/*
 * relay_main - thread: read up to the first body's final dot, then close
 * without reading the next envelope (a relay reset between the two)
 */
static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	char b[4096], tail[5] = { 0 };
	ssize_t n;

	while ((n = read(r->fd, b, 1)) == 1) {
		r->body_end++;
		memmove(tail, tail + 1, 4);
		tail[4] = b[0];
		if (memcmp(tail, "\r\n.\r\n", 5) == 0)
			break;
	}
	close(r->fd);
	return NULL;
}

/* client_on - a pipelining client on fd: non-blocking, small send buffer */
static void
client_on(struct smtp_client *c, int fd)
{
	int small = 4096;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = 5000;
	c->pipelining = 1;
	buf_init(&c->in, 1 << 20);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK),
	    0);
}

START_TEST(body_answered_then_reset_counts_once)
{
	static const char replies[] = "250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
	    "354 go ahead\r\n250 2.0.0 queued as A1\r\n";
	static const unsigned char body[] = "Subject: x\r\n\r\nhi\r\n.\r\n";
	char *one[] = { "a@example.net" }, *many[NEXT_RCPTS];
	char names[NEXT_RCPTS][64], texts[NEXT_RCPTS + 1][SMTP_TEXT_MAX];
	int codes[1], ncodes[NEXT_RCPTS], sv[2], i;
	struct smtp_txn t, next;
	struct smtp_client c;
	struct relay r;
	pthread_t th;
	char err[256];

	for (i = 0; i < NEXT_RCPTS; i++) {
		snprintf(names[i], sizeof(names[i]),
		    "member-%04d@a-long-domain-name.example.net", i);
		many[i] = names[i];
	}
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], replies, sizeof(replies) - 1),
	    (ssize_t)sizeof(replies) - 1);
	r.fd = sv[1];
	r.body_end = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, relay_main, &r), 0);
	client_on(&c, sv[0]);
	t = (struct smtp_txn){ .from = "bounces@lists.example", .rcpts = one,
	    .n = 1, .stuffed = body, .len = sizeof(body) - 1, .codes = codes,
	    .texts = texts };
	next = (struct smtp_txn){ .from = "bounces@lists.example",
	    .rcpts = many, .n = NEXT_RCPTS, .stuffed = body,
	    .len = sizeof(body) - 1, .codes = ncodes, .texts = texts + 1 };
	/* the connection is gone, but the body's 250 came: delivered */
	ck_assert_int_eq(smtp_client_send(&c, &t, &next, err, sizeof(err)),
	    -1);
	ck_assert_int_gt((int)r.body_end, 0);
	ck_assert_int_eq(codes[0], 250);
	ck_assert_ptr_nonnull(strstr(texts[0], "queued as A1"));
	pthread_join(th, NULL);
	smtp_client_abort(&c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("smtp_client");
	TCase *tc = tcase_create("pipelined");

	tcase_add_test(tc, body_answered_then_reset_counts_once);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
