/*
 * smtp_session.c - the ESMTP (RFC 5321) and LMTP (RFC 2033) dialogue.
 *
 * An explicit state and a command table, as in OpenSMTPD's smtp_session.c:
 * each row names the states the command is allowed in and the function
 * that checks its arguments and acts. The session does no socket I/O: the
 * server feeds it bytes and sends what it leaves in ->out, so the unit
 * tests can drive it byte by byte and with injected disk failures.
 *
 * The `250 ... queued as ID` after DATA is written only when spool_commit
 * has made the message durable; any failure answers 451 and leaves no file.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mail/addr.h"
#include "mail/header.h"
#include "ingest/smtp_session.h"
#include "util/log.h"

#define MAX_ERRORS	20

/*
 * One row per command, checked in dispatch before its proceed function
 * runs: the states it is allowed in, whether it moves no mail (counted by
 * idle_command), and its arguments (A_NONE or A_NEED: else the 501 says
 * "Syntax: " and syntax). A command that only answers has its answer in
 * place of a proceed function.
 */
enum smtp_args { A_ANY, A_NONE, A_NEED };

struct smtp_cmd {
	const char	*name;
	unsigned	 states;	/* bit per enum smtp_state */
	void		(*proceed)(struct smtp_session *, char *args);
	int		 lmtp;		/* 0: SMTP only, 1: LMTP only, 2: both */
	int		 idle;		/* moves no mail */
	enum smtp_args	 args;
	const char	*syntax;
	const char	*answer;	/* proceed NULL: the reply */
};

#define ST(x)	(1u << (x))
#define ANY	(ST(SS_CONNECTED) | ST(SS_HELO) | ST(SS_MAIL) | ST(SS_RCPT))

static void cmd_ehlo(struct smtp_session *, char *);
static void cmd_helo(struct smtp_session *, char *);
static void cmd_mail(struct smtp_session *, char *);
static void cmd_rcpt(struct smtp_session *, char *);
static void cmd_data(struct smtp_session *, char *);
static void cmd_rset(struct smtp_session *, char *);
static void cmd_quit(struct smtp_session *, char *);
static void cmd_help(struct smtp_session *, char *);
static void cmd_starttls(struct smtp_session *, char *);

static const struct smtp_cmd commands[] = {
	/* a greeting moves no mail either */
	{ "EHLO", ANY, cmd_ehlo, 0, 1, A_NEED, "EHLO hostname", NULL },
	{ "HELO", ANY, cmd_helo, 0, 1, A_NEED, "HELO hostname", NULL },
	{ "LHLO", ANY, cmd_ehlo, 1, 1, A_NEED, "LHLO hostname", NULL },
	{ "MAIL", ST(SS_HELO), cmd_mail, 2, 0, A_ANY, NULL, NULL },
	{ "RCPT", ST(SS_MAIL) | ST(SS_RCPT), cmd_rcpt, 2, 0, A_ANY, NULL,
	    NULL },
	{ "DATA", ST(SS_RCPT), cmd_data, 2, 0, A_NONE, "DATA (no arguments)",
	    NULL },
	{ "RSET", ANY, cmd_rset, 2, 1, A_ANY, NULL, NULL },
	{ "NOOP", ANY, NULL, 2, 1, A_ANY, NULL, "250 2.0.0 Ok" },
	{ "QUIT", ANY, cmd_quit, 2, 0, A_ANY, NULL, NULL },
	/* never confirm or deny a member or a list: that would leak the roster */
	{ "VRFY", ANY, NULL, 2, 1, A_ANY, NULL, "252 2.5.2 Cannot VRFY; "
	    "send mail and it will be delivered if the address is served" },
	{ "HELP", ANY, cmd_help, 2, 1, A_ANY, NULL, NULL },
	{ "STARTTLS", ST(SS_HELO), cmd_starttls, 2, 0, A_NONE, "STARTTLS",
	    NULL },
	{ NULL, 0, NULL, 0, 0, A_ANY, NULL, NULL }
};

/* reply - queue one reply line */
static void
reply(struct smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_puts(&s->out, line);
	buf_puts(&s->out, "\r\n");
}

/* transaction_reset - forget the envelope and any half-written file */
static void
transaction_reset(struct smtp_session *s)
{
	if (s->writing)
		spool_abort(&s->w);
	s->writing = 0;
	envelope_free(&s->env);
	s->accepted = 0;
	buf_reset(&s->data);
	if (s->state > SS_HELO && s->state != SS_CLOSED)
		s->state = SS_HELO;
}

/* smtp_session_init - a new connection; queues the greeting */
void
smtp_session_init(struct smtp_session *s, const struct config *cfg, struct spool *sp,
    int lmtp, const char *peer)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->spool = sp;
	s->lmtp = lmtp;
	s->state = SS_CONNECTED;
	smtp_in_init(&s->in);
	buf_init(&s->out, 0);
	buf_init(&s->data, SPOOL_CHUNK * 4);
	buf_init(&s->stash, 0);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	if (lmtp != PROTO_HTTP)		/* HTTP: the client speaks first (http.c) */
		reply(s, "220 %s %s mlistd ready", cfg->hostname, lmtp ? "LMTP" : "ESMTP");
}

/* smtp_session_free - release; an unfinished message is discarded */
void
smtp_session_free(struct smtp_session *s)
{
	transaction_reset(s);
	smtp_in_free(&s->in);
	buf_free(&s->out);
	buf_free(&s->data);
	buf_free(&s->stash);
}

/* close_with - final reply, then close */
static void
close_with(struct smtp_session *s, const char *text)
{
	transaction_reset(s);
	reply(s, "%s", text);
	s->state = SS_CLOSED;
	s->close_after = 1;
}

/* bad_command - count errors; too many and the client is cut off */
static void
bad_command(struct smtp_session *s)
{
	if (++s->errors >= MAX_ERRORS)
		close_with(s, "421 4.7.0 Too many errors; closing connection");
}

/*
 * idle_command - NOOP, RSET, VRFY, HELP, EHLO and HELO move no mail: a client may send
 * max_idle_commands of them, then it is cut off (each one resets the idle
 * timer, so without a cap a session could stay open forever)
 */
static int
idle_command(struct smtp_session *s)
{
	if (++s->idle_cmds <= s->cfg->max_idle_commands)
		return 0;
	log_info("NOQUEUE smtpd: client=%s reason=too-many-idle-commands result=tempfail", s->peer);
	close_with(s, "421 4.7.0 Too many commands that move no mail; closing connection");
	return -1;
}

/* greet - EHLO, HELO or LHLO: a new transaction from a client so named */
static void
greet(struct smtp_session *s, const char *name)
{
	transaction_reset(s);
	snprintf(s->helo, sizeof(s->helo), "%s", name);
	s->state = SS_HELO;
}

static void
cmd_ehlo(struct smtp_session *s, char *args)
{
	greet(s, args);
	reply(s, "250-%s", s->cfg->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %lld", s->cfg->max_message_size);
	reply(s, "250-8BITMIME");
	if (s->tls_offer && !s->tls_active)
		reply(s, "250-STARTTLS");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

/*
 * cmd_starttls - RFC 3207: 220, then the caller's handshake. Everything the
 * client said before (the HELO) is forgotten, and so is anything it sent
 * after STARTTLS in the same breath (smtp_session_input drops it: the
 * command-injection attack of CVE-2011-0411).
 */
static void
cmd_starttls(struct smtp_session *s, char *args)
{
	(void)args;
	if (!s->tls_offer || s->tls_active) {
		reply(s, s->tls_active ? "503 5.5.1 TLS is already active" : "454 4.7.0 TLS not available here");
		return;
	}
	transaction_reset(s);
	s->helo[0] = 0;
	s->state = SS_CONNECTED;
	s->tls_start = 1;
	reply(s, "220 2.0.0 Ready to start TLS");
}

static void
cmd_helo(struct smtp_session *s, char *args)
{
	greet(s, args);
	reply(s, "250 %s", s->cfg->hostname);
}

/* path_arg - parse "FROM:<addr> params" / "TO:<addr> params"; NULL on bad syntax */
static char *
path_arg(char *args, const char *kw, char **params)
{
	size_t n = strlen(kw);
	char *p, *end;

	if (strncasecmp(args, kw, n) != 0)
		return NULL;
	p = args + n;
	while (*p == ' ')
		p++;	/* tolerated by every real server, though RFC 5321 has none */
	if (*p != '<' || (end = strchr(p, '>')) == NULL)
		return NULL;
	*end = 0;
	*params = end + 1;
	while (**params == ' ')
		(*params)++;
	return p + 1;
}

static void
cmd_mail(struct smtp_session *s, char *args)
{
	char *params, *addr, *tok, *save = NULL, *end;
	long long size;

	if (s->require_tls && !s->tls_active) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if ((addr = path_arg(args, "FROM:", &params)) == NULL) {
		reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return bad_command(s);
	}
	if (*addr && !addr_valid(addr)) {
		reply(s, "553 5.1.7 Sender address is not a valid mailbox");
		return bad_command(s);
	}
	for (tok = strtok_r(params, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(tok, "SIZE=", 5) == 0) {
			errno = 0;
			size = strtoll(tok + 5, &end, 10);
			if (*end || end == tok + 5 || errno || size < 0) {
				reply(s, "501 5.5.4 Bad SIZE parameter");
				return bad_command(s);
			}
			if (size > s->cfg->max_message_size) {
				reply(s, "552 5.3.4 Message size exceeds fixed limit of %lld bytes",
				    s->cfg->max_message_size);
				return;
			}
		} else if (strcasecmp(tok, "BODY=8BITMIME") && strcasecmp(tok, "BODY=7BIT")) {
			reply(s, "555 5.5.4 Unsupported parameter %.64s", tok);
			return bad_command(s);
		}
	}
	envelope_free(&s->env);
	s->env.sender = strdup(addr);
	s->env.client = strdup(s->peer);
	s->env.received = (long long)time(NULL);
	s->env.note = strdup(s->behind_mta ? "front" : "");
	if (!s->env.sender || !s->env.client || !s->env.note) {
		envelope_free(&s->env);
		reply(s, "451 4.3.0 Out of memory; try again later");
		return;
	}
	s->state = SS_MAIL;
	reply(s, "250 2.1.0 Ok");
}

/*
 * rcpt_seen - is la already a recipient of this transaction, as the list
 * sees it (same list, same kind of address, same token; case does not
 * matter)? At most max_recipients comparisons.
 */
static int
rcpt_seen(const struct smtp_session *s, const struct listaddr *la)
{
	struct listaddr o;

	for (int i = 0; i < s->env.nrcpts; i++)
		if (listaddr_parse(s->cfg, s->env.rcpts[i], &o) == 0 && o.list == la->list &&
		    o.kind == la->kind && strcasecmp(o.token, la->token) == 0)
			return 1;
	return 0;
}

static void
cmd_rcpt(struct smtp_session *s, char *args)
{
	struct listaddr la;
	char *params, *addr;

	if ((addr = path_arg(args, "TO:", &params)) == NULL || *params) {
		reply(s, "501 5.5.4 Syntax: RCPT TO:<address> (no parameters supported)");
		return bad_command(s);
	}
	if (s->env.nrcpts >= s->cfg->max_recipients) {
		reply(s, "452 4.5.3 Too many recipients; send the rest in another transaction");
		return;
	}
	if (listaddr_parse(s->cfg, addr, &la) < 0) {
		reply(s, "550 5.1.1 <%.254s>: Recipient address rejected: not a list address at %s",
		    addr, s->cfg->hostname);
		log_info("NOQUEUE smtpd: client=%s rcpt=rejected reason=unknown-recipient result=permfail",
		    s->peer);
		return bad_command(s);
	}
	if (rcpt_seen(s, &la)) {
		/* the same list address again (in any case): one message, one copy per member */
		s->accepted++;
		s->state = SS_RCPT;
		reply(s, "250 2.1.5 Ok (already a recipient of this message)");
		return;
	}
	if (envelope_add_rcpt(&s->env, addr) < 0) {
		reply(s, "451 4.3.0 Out of memory; try again later");
		return;
	}
	s->accepted++;
	s->state = SS_RCPT;
	reply(s, "250 2.1.5 Ok");
}

static void
cmd_data(struct smtp_session *s, char *args)
{
	(void)args;
	if (spool_begin(s->spool, SPOOL_INCOMING, &s->env, &s->w) != OK) {
		reply(s, "451 4.3.0 Cannot queue the message now; try again later");
		return;
	}
	s->writing = 1;
	s->state = SS_DATA;
	s->data_start = (long long)time(NULL);
	buf_reset(&s->data);
	smtp_in_start_data(&s->in, &s->data, (size_t)s->cfg->max_message_size);
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
cmd_rset(struct smtp_session *s, char *args)
{
	(void)args;
	transaction_reset(s);
	reply(s, "250 2.0.0 Ok");
}

static void
cmd_quit(struct smtp_session *s, char *args)
{
	(void)args;
	close_with(s, "221 2.0.0 Bye");
}

static void
cmd_help(struct smtp_session *s, char *args)
{
	(void)args;
	reply(s, "214-2.0.0 This is mlistd, a mailing-list server for %s.", s->cfg->hostname);
	reply(s, "214-2.0.0 Commands: %s MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
	    s->lmtp ? "LHLO" : "EHLO HELO");
	reply(s, "214 2.0.0 Send \"help\" to LIST-request@%s for list commands.", s->cfg->hostname);
}

/* flush_data - hand buffered DATA to the spool (keeps memory bounded) */
static void
flush_data(struct smtp_session *s)
{
	if (s->data.len && s->writing && !s->in.too_big)
		(void)spool_write(&s->w, s->data.data, s->data.len);	/* failure shows at commit */
	buf_reset(&s->data);
}

static void finish_data(struct smtp_session *, enum result);

/* end_of_data - refuse, or commit (now, or with the loop's group: smtp_session_commit_group) */
static void
end_of_data(struct smtp_session *s)
{
	flush_data(s);
	if (s->in.too_big || s->in.long_line || s->in.too_many_fields)
		finish_data(s, PERMFAIL);
	else if (s->group_commit)
		s->state = SS_COMMIT;	/* the reply waits for the group's flush */
	else
		finish_data(s, spool_commit(&s->w));
}

/*
 * smtp_session_commit_group - every session waiting in SS_COMMIT: their
 * files made durable together (spool_commit_many), then each one's reply,
 * then whatever each client sent behind its DATA.
 */
void
smtp_session_commit_group(struct smtp_session **ss, int n)
{
	struct spool_writer **w = calloc((size_t)n + 1, sizeof(*w));
	enum result *r = calloc((size_t)n + 1, sizeof(*r));
	struct buf rest;

	if (!w || !r)
		abort();
	for (int i = 0; i < n; i++)
		w[i] = &ss[i]->w;
	spool_commit_many(w, n, r);
	for (int i = 0; i < n; i++) {
		if (ss[i]->on_commit) {
			/* not a DATA: a one-click POST (http.c), its answer */
			ss[i]->on_commit(ss[i], r[i]);
			continue;
		}
		finish_data(ss[i], r[i]);
		if (ss[i]->stash.len) {
			rest = ss[i]->stash;
			buf_init(&ss[i]->stash, 0);
			smtp_session_input(ss[i], rest.data, rest.len);
			buf_free(&rest);
		}
	}
	free(w);
	free(r);
}

/* finish_data - the outcome of a message: log, reply per recipient under LMTP */
static void
finish_data(struct smtp_session *s, enum result r)
{
	char text[256];
	int i;

	if (s->in.too_big)
		snprintf(text, sizeof(text), "552 5.3.4 Message size exceeds fixed limit of %lld bytes",
		    s->cfg->max_message_size);
	else if (s->in.long_line)
		snprintf(text, sizeof(text), "550 5.6.0 Message has a line longer than 998 characters; "
		    "wrap long lines or use quoted-printable");
	else if (s->in.too_many_fields)
		snprintf(text, sizeof(text), "554 5.6.0 Message has more than %d header fields; "
		    "the list accepts none so long", HDR_MAX_FIELDS);
	else if (r == OK) {
		snprintf(text, sizeof(text), "250 2.0.0 Ok: queued as %s", s->w.id);
		s->committed++;
	} else
		snprintf(text, sizeof(text), "451 4.3.0 Message not queued: local disk error; try again later");
	if (r != OK && s->writing && r == PERMFAIL)
		spool_abort(&s->w);
	s->writing = 0;
	log_info("%s smtpd: client=%s nrcpt=%d size=%zu result=%s%s",
	    r == OK ? s->w.id : "NOQUEUE", s->peer, s->env.nrcpts, s->in.size, result_name(r),
	    s->in.too_big ? " reason=too-big" : s->in.long_line ? " reason=long-line" :
	    s->in.too_many_fields ? " reason=too-many-header-fields" :
	    r == TEMPFAIL ? " reason=spool-failure" : "");
	/* LMTP: one reply for every RCPT that was accepted, duplicates included (RFC 2033 4.2) */
	for (i = 0; i < (s->lmtp ? s->accepted : 1); i++)
		reply(s, "%s", text);
	s->state = SS_HELO;
	transaction_reset(s);
}

/* dispatch - one command line */
static void
dispatch(struct smtp_session *s, char *line)
{
	const struct smtp_cmd *c;
	char verb[16], *args;
	size_t n = strcspn(line, " ");

	args = line + n;
	while (*args == ' ')
		args++;
	snprintf(verb, sizeof(verb), "%.*s", (int)(n < 15 ? n : 15), line);
	for (c = commands; c->name; c++)
		if (n == strlen(c->name) && strcasecmp(c->name, verb) == 0 && (c->lmtp == 2 || c->lmtp == s->lmtp))
			break;
	if (c->name == NULL) {
		reply(s, "500 5.5.2 Command not recognized");
		return bad_command(s);
	}
	if (!(c->states & ST(s->state))) {
		reply(s, "503 5.5.1 Bad sequence of commands: %s", s->state == SS_CONNECTED ?
		    (s->lmtp ? "send LHLO first" : "send EHLO or HELO first") :
		    s->state == SS_HELO ? "send MAIL FROM first" :
		    s->state == SS_MAIL ? "send RCPT TO first" : "not allowed now");
		return bad_command(s);
	}
	if (c->idle && idle_command(s) < 0)
		return;
	if ((c->args == A_NONE && *args) || (c->args == A_NEED && !*args)) {
		reply(s, "501 5.5.4 Syntax: %s", c->syntax);
		return bad_command(s);
	}
	if (c->proceed)
		c->proceed(s, args);
	else
		reply(s, "%s", c->answer);
}

/* smtp_session_input - process bytes from the client */
void
smtp_session_input(struct smtp_session *s, const unsigned char *p, size_t n)
{
	enum smtp_in_ev ev;
	size_t used;

	if (s->state == SS_COMMIT) {
		(void)buf_append(&s->stash, p, n);	/* bounded by the server's read throttle */
		return;
	}
	while (n > 0 && s->state != SS_CLOSED && s->state != SS_COMMIT && !s->tls_start) {
		used = smtp_in_feed(&s->in, p, n, &ev);
		p += used;
		n -= used;
		switch (ev) {
		case IN_MORE:
			break;
		case IN_LINE:
			dispatch(s, (char *)s->in.line.data ? (char *)s->in.line.data : (char *)"");
			buf_reset(&s->in.line);
			break;
		case IN_LINE_TOO_LONG:
			reply(s, "500 5.5.2 Line too long (limit %d octets)", SMTP_LINE_MAX);
			bad_command(s);
			break;
		case IN_DATA_END:
			end_of_data(s);
			break;
		case IN_BARE_LF:
		case IN_BARE_CR:
			log_info("NOQUEUE smtpd: client=%s reason=bare-%s result=permfail", s->peer,
			    ev == IN_BARE_LF ? "lf" : "cr");
			close_with(s, ev == IN_BARE_LF ?
			    "554 5.5.2 Bare <LF> received; lines must end in <CR><LF>" :
			    "554 5.5.2 Bare <CR> received; lines must end in <CR><LF>");
			break;
		}
		if (s->state == SS_DATA)
			flush_data(s);
	}
	if (s->state == SS_COMMIT && n > 0)
		(void)buf_append(&s->stash, p, n);	/* pipelined behind DATA: after the commit */
}

/* smtp_session_timeout - the client was idle too long */
void
smtp_session_timeout(struct smtp_session *s)
{
	log_info("NOQUEUE smtpd: client=%s reason=timeout state=%s result=tempfail", s->peer,
	    s->state == SS_DATA ? "data" : "command");
	close_with(s, "421 4.4.2 Timeout exceeded; closing connection");
}

/* smtp_session_deadline - the DATA or the whole session took longer than its limit */
void
smtp_session_deadline(struct smtp_session *s, const char *what)
{
	log_info("NOQUEUE smtpd: client=%s reason=%s-deadline result=tempfail", s->peer, what);
	close_with(s, *what == 'd' ? "421 4.4.2 The message took too long to arrive; closing connection" :
	    "421 4.4.2 Session too long; closing connection");
}

/* smtp_session_shutdown - the daemon is stopping */
void
smtp_session_shutdown(struct smtp_session *s)
{
	close_with(s, "421 4.3.2 Service shutting down; try again later");
}

/*
 * smtp_session_tls_started - the handshake is done: the dialogue starts
 * again (EHLO first), and whatever the client sent in clear after STARTTLS
 * is gone.
 */
void
smtp_session_tls_started(struct smtp_session *s)
{
	smtp_in_free(&s->in);
	smtp_in_init(&s->in);
	s->tls_start = 0;
	s->tls_active = 1;
	s->state = SS_CONNECTED;
}
