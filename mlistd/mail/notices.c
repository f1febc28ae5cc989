/*
 * notices.c - load, check and fill the notice templates.
 *
 * A template file is "Subject: TEXT", an empty line, then the body. In both,
 * {name} is replaced by a placeholder's value and {{ stands for a brace.
 * Every notice may use {list}, {host}, {list_addr}, {request_addr} and
 * {owner_addr}; the table below adds each notice's own. Loading checks
 * every file completely (one error per problem, file:line), so a bad
 * translation is found by mlistd -t, not by a member. Filling a template
 * never fails for want of a value: an unset placeholder becomes "".
 * Values are cleaned of control characters in the Subject, which is a
 * header (a value could otherwise add header lines). A translated subject
 * is rarely ASCII: notice_subject writes it as RFC 2047 encoded-words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "notices.h"

#define COMMON_VARS	"list host list_addr request_addr owner_addr"
#define TEMPLATE_MAX	(64 * 1024)
#define SUBJECT_MAX	200

/* a notice's or a piece's file name and own placeholders, from its row */
struct text_def {
	const char	*name;
	const char	*vars;
};

#define TEXT_DEF(e, name, vars, when) { name, vars },
static const struct text_def notice_defs[NOTICE_N] = {
	NOTICE_TABLE(TEXT_DEF)
};
static const struct text_def piece_defs[PIECE_N] = { PIECE_TABLE(TEXT_DEF) };
#undef TEXT_DEF

/* notice_name - the file name of a notice (without .txt) */
const char *
notice_name(enum notice_id id)
{
	return (unsigned)id < NOTICE_N ? notice_defs[id].name : "?";
}

#define PIECES_FILE	"pieces"

/* piece_name - the [name] of a piece */
const char *
piece_name(enum piece_id id)
{
	return (unsigned)id < PIECE_N ? piece_defs[id].name : "?";
}

/* var_known - is the placeholder name (n bytes) common or one of own? */
static int
var_known(const char *own, const char *name, size_t n)
{
	const char *lists[2] = { COMMON_VARS, own };

	for (int k = 0; k < 2; k++)
		for (const char *s = lists[k]; *s; ) {
			size_t w = strcspn(s, " ");

			if (w == n && strncmp(s, name, n) == 0)
				return 1;
			s += w;
			s += strspn(s, " ");
		}
	return 0;
}

/*
 * check_text - every {placeholder} in text is known (own: the text's own
 * placeholders); errors name the line
 */
static int
check_text(const char *own, const char *path, int line, const char *text,
    struct buf *errs)
{
	int nerr = 0;

	for (const char *c = text; *c; c++) {
		const char *end;

		if (*c == '\n')
			line++;
		if (*c != '{')
			continue;
		if (c[1] == '{') {
			c++;
			continue;
		}
		end = c + 1 + strspn(c + 1, "abcdefghijklmnopqrstuvwxyz_");
		if (*end != '}' || end == c + 1) {
			buf_printf(errs, "%s:%d: a \"{\" that starts no placeholder (write {{ for a brace)\n",
			    path, line);
			nerr++;
		} else if (!var_known(own, c + 1, (size_t)(end - c - 1))) {
			buf_printf(errs, "%s:%d: unknown placeholder {%.*s} "
			    "(this text knows: %s%s%s)\n", path, line,
			    (int)(end - c - 1), c + 1, COMMON_VARS,
			    *own ? " " : "", own);
			nerr++;
		}
	}
	return nerr;
}

/* read_file - a whole small text file, NUL-terminated; -1 (errno) on failure */
static int
read_file(const char *path, struct buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *fp;
	int rc = 0;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (out->len + n > TEMPLATE_MAX || buf_append(out, chunk, n) < 0) {
			errno = EFBIG;
			rc = -1;
			break;
		}
	if (ferror(fp))
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	return rc;
}

/* parse_one - "Subject: ..." line, empty line, body; checked */
static int
parse_one(enum notice_id id, const char *path, const char *text, struct notice_text *t, struct buf *errs)
{
	const char *nl = strchr(text, '\n');
	size_t slen;
	int nerr;

	if (strncmp(text, "Subject: ", 9) != 0 || nl == NULL || nl[1] != '\n') {
		buf_printf(errs, "%s:1: a notice starts with \"Subject: TEXT\" and an empty line, then the body\n",
		    path);
		return 1;
	}
	if ((slen = (size_t)(nl - text - 9)) == 0 || slen > SUBJECT_MAX) {
		buf_printf(errs, "%s:1: the subject must be 1 to %d characters\n", path, SUBJECT_MAX);
		return 1;
	}
	for (const char *c = text; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\n' && *c != '\t') {
			buf_printf(errs, "%s: control character 0x%02x (only text, tabs and line ends)\n", path,
			    (unsigned char)*c);
			return 1;
		}
	if ((nerr = check_text(notice_defs[id].vars, path, 1, text, errs)) > 0)
		return nerr;
	if (nl[2] == 0) {
		buf_printf(errs, "%s:3: the notice has no body\n", path);
		return 1;
	}
	/* one block, freed as subject: the subject, cut at its end, the body */
	if ((t->subject = strdup(text + 9)) == NULL) {
		buf_printf(errs, "%s: out of memory\n", path);
		return 1;
	}
	t->subject[slen] = '\0';
	t->body = t->subject + slen + 2;
	return 0;
}

/* piece_id_of - the piece named [name] (n bytes); -1 unknown */
static int
piece_id_of(const char *name, size_t n)
{
	for (int i = 0; i < PIECE_N; i++)
		if (strlen(piece_defs[i].name) == n &&
		    strncmp(piece_defs[i].name, name, n) == 0)
			return i;
	return -1;
}

/* notice_piece_id - the piece called name; -1 none is */
int
notice_piece_id(const char *name)
{
	return piece_id_of(name, strlen(name));
}

/* piece_header - is the line at s "[name]"? the name's length, else 0 */
static size_t
piece_header(const char *s)
{
	size_t n = strspn(s + 1, "abcdefghijklmnopqrstuvwxyz-");

	if (s[0] != '[' || n == 0 || s[1 + n] != ']')
		return 0;
	return s[2 + n] == '\n' || s[2 + n] == 0 ? n : 0;
}

/* next_line - the start of the line after the one at s (or its NUL) */
static const char *
next_line(const char *s)
{
	s += strcspn(s, "\n");
	return *s ? s + 1 : s;
}

/* piece_one - the piece whose header is at h (line hl), to the next header */
static int
piece_one(struct notices *ns, const char *path, const char *h, int hl,
    struct buf *errs)
{
	size_t n = piece_header(h);
	const char *t = next_line(h), *end;
	int id = piece_id_of(h + 1, n);

	for (end = t; *end && !piece_header(end); end = next_line(end))
		;
	if (id < 0) {
		buf_printf(errs, "%s:%d: no piece is called [%.*s]\n", path, hl,
		    (int)n, h + 1);
		return 1;
	}
	if (ns->piece[id]) {
		buf_printf(errs, "%s:%d: [%.*s] a second time\n", path, hl,
		    (int)n, h + 1);
		return 1;
	}
	if (end == t || end[-1] != '\n') {
		buf_printf(errs, "%s:%d: [%.*s] needs a text of whole lines\n",
		    path, hl, (int)n, h + 1);
		return 1;
	}
	if ((ns->piece[id] = strndup(t, (size_t)(end - t))) == NULL) {
		buf_printf(errs, "%s: out of memory\n", path);
		return 1;
	}
	return check_text(piece_defs[id].vars, path, hl + 1, ns->piece[id],
	    errs);
}

/* pieces_read - the pieces file of dir into text; the number of errors */
static int
pieces_read(const char *path, int required, struct buf *text,
    struct buf *errs)
{
	if (read_file(path, text) == 0 && buf_putc(text, 0) == 0)
		return 0;
	if (errno == ENOENT && !required)
		return 0;
	buf_printf(errs, "%s: %s%s\n", path, strerror(errno), errno == ENOENT ?
	    " (copy it from the templates mlistd ships)" : "");
	return 1;
}

/*
 * pieces_load - the pieces file of dir: "#" comment lines, then "[name]"
 * lines each before its piece's text. With required, every piece must be
 * there. The number of errors.
 */
static int
pieces_load(const char *dir, int required, struct notices *ns,
    struct buf *errs)
{
	char path[4200];
	struct buf text;
	const char *s;
	int nerr, line = 1, seen = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, PIECES_FILE);
	buf_init(&text, 0);
	if ((nerr = pieces_read(path, required, &text, errs)) > 0 ||
	    text.len == 0) {
		buf_free(&text);
		return nerr;
	}
	for (s = (const char *)text.data; *s; s = next_line(s), line++) {
		if (piece_header(s)) {
			nerr += piece_one(ns, path, s, line, errs);
			seen = 1;
		} else if (!seen && *s != '#' && *s != '\n') {
			/* before the first piece: only comments */
			buf_printf(errs, "%s:%d: text before the first [name] "
			    "line\n", path, line);
			nerr++;
			seen = 1;
		}
	}
	for (int i = 0; required && i < PIECE_N; i++)
		if (!ns->piece[i]) {
			buf_printf(errs, "%s: the piece [%s] is missing\n",
			    path, piece_defs[i].name);
			nerr++;
		}
	buf_free(&text);
	return nerr;
}

/*
 * notices_load - every notice from dir (templates_dir/notices or its
 * per-list subdirectory). With required, each must be there; otherwise a
 * missing file is left NULL (the instance's text is used). Returns the
 * number of errors (0: *out is set).
 */
int
notices_load(const char *dir, int required, struct notices **out, struct buf *errs)
{
	struct notices *n;
	struct buf text;
	char path[4200];
	int nerr = 0;

	*out = NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		buf_printf(errs, "%s: out of memory\n", dir);
		return 1;
	}
	if (required && access(dir, R_OK | X_OK) < 0) {
		buf_printf(errs, "%s: %s (templates_dir must hold the notices/ folder mlistd ships)\n", dir,
		    strerror(errno));
		free(n);
		return 1;
	}
	buf_init(&text, 0);
	for (int i = 0; i < NOTICE_N; i++) {
		snprintf(path, sizeof(path), "%s/%s.txt", dir, notice_defs[i].name);
		buf_reset(&text);
		if (read_file(path, &text) < 0) {
			if (errno != ENOENT || required) {
				buf_printf(errs, "%s: %s%s\n", path, strerror(errno), errno == ENOENT ?
				    " (every notice needs its text: copy it from the templates mlistd ships)" : "");
				nerr++;
			}
			continue;
		}
		if (buf_putc(&text, 0) < 0)
			nerr++;
		else
			nerr += parse_one(i, path, (const char *)text.data, &n->t[i], errs);
	}
	buf_free(&text);
	nerr += pieces_load(dir, required, n, errs);
	if (nerr) {
		notices_free(n);
		return nerr;
	}
	*out = n;
	return 0;
}

/* notices_free - release a set */
void
notices_free(struct notices *n)
{
	if (!n)
		return;
	for (int i = 0; i < NOTICE_N; i++)
		free(n->t[i].subject);	/* and its body: one block */
	for (int i = 0; i < PIECE_N; i++)
		free(n->piece[i]);
	free(n);
}

/* lookup - the value of placeholder name (n bytes); "" when unset */
static const char *
lookup(const struct notice_ctx *ctx, const char *const *vars, const char *name, size_t n, char *tmp,
    size_t tmplen)
{
	static const char *const suffix[] = { "list_addr", "", "request_addr", "-request",
	    "owner_addr", "-owner" };

	if (n == 4 && strncmp(name, "list", 4) == 0)
		return ctx->list;
	if (n == 4 && strncmp(name, "host", 4) == 0)
		return ctx->host;
	for (size_t k = 0; k < sizeof(suffix) / sizeof(suffix[0]); k += 2)
		if (strlen(suffix[k]) == n && strncmp(name, suffix[k], n) == 0) {
			snprintf(tmp, tmplen, "%s%s@%s", ctx->list, suffix[k + 1], ctx->host);
			return tmp;
		}
	for (; vars && vars[0]; vars += 2)
		if (strlen(vars[0]) == n && strncmp(vars[0], name, n) == 0)
			return vars[1] ? vars[1] : "";
	return "";
}

/* fill - text with its placeholders replaced; header: control characters become spaces */
static int
fill(const char *text, const struct notice_ctx *ctx, const char *const *vars, int header, struct buf *out)
{
	char tmp[400];

	for (const char *c = text; *c; c++) {
		const char *v, *end;

		if (*c != '{') {
			if (buf_putc(out, *c) < 0)
				return -1;
			continue;
		}
		if (c[1] == '{') {
			if (buf_putc(out, '{') < 0)
				return -1;
			c++;
			continue;
		}
		end = strchr(c, '}');	/* checked at load: every { starts a placeholder */
		v = lookup(ctx, vars, c + 1, (size_t)(end - c - 1), tmp, sizeof(tmp));
		for (; *v; v++)
			if (buf_putc(out, header && (unsigned char)*v < 0x20 ? ' ' : *v) < 0)
				return -1;
		c = end;
	}
	return 0;
}

/*
 * notice_render - the subject and body of a notice: the list's own text if it
 * has one, else the instance's. vars: name, value pairs, NULL-terminated.
 */
int
notice_render(const struct notices *list, const struct notices *inst, enum notice_id id,
    const struct notice_ctx *ctx, const char *const *vars, struct buf *subject, struct buf *body)
{
	const struct notice_text *t;

	if ((unsigned)id >= NOTICE_N)
		abort();
	t = list && list->t[id].subject ? &list->t[id] : inst ? &inst->t[id] : NULL;
	if (t == NULL || t->subject == NULL)
		return -1;
	if (fill(t->subject, ctx, vars, 1, subject) < 0 || fill(t->body, ctx, vars, 0, body) < 0)
		return -1;
	return 0;
}

/*
 * notice_subject - a rendered subject as a header value: as it is when
 * ASCII, else RFC 2047 "B" encoded-words of at most 75 characters, each
 * holding whole UTF-8 characters, on folded lines
 */
int
notice_subject(const char *subject, struct buf *out)
{
	size_t len = strlen(subject), off = 0;
	char enc[80];
	int ascii = 1;

	for (const char *c = subject; *c; c++)
		ascii &= (unsigned char)*c < 128;
	if (ascii)
		return buf_puts(out, subject);
	while (off < len) {
		size_t n = len - off > 45 ? 45 : len - off;

		/* never end inside a character: back off continuation bytes */
		while (off + n < len && n > 1 && ((unsigned char)subject[off + n] & 0xc0) == 0x80)
			n--;
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)subject + off, n,
		    sodium_base64_VARIANT_ORIGINAL);
		if (buf_printf(out, "%s=?utf-8?B?%s?=", off ? "\r\n " : "", enc) < 0)
			return -1;
		off += n;
	}
	return 0;
}

/*
 * notice_piece - a piece of an answer, appended to out: the list's own text
 * if it has one, else the instance's. -1 when neither has it.
 */
int
notice_piece(const struct notices *list, const struct notices *inst,
    enum piece_id id, const struct notice_ctx *ctx, const char *const *vars,
    struct buf *out)
{
	const char *t = NULL;

	if ((unsigned)id >= PIECE_N)
		abort();
	if (list && list->piece[id])
		t = list->piece[id];
	else if (inst)
		t = inst->piece[id];
	return t ? fill(t, ctx, vars, 0, out) : -1;
}

/*
 * notice_piece_text - a piece's template as loaded (placeholders unfilled):
 * the list's, else the instance's; "" when neither has it
 */
const char *
notice_piece_text(const struct notices *list, const struct notices *inst,
    enum piece_id id)
{
	if ((unsigned)id >= PIECE_N)
		abort();
	if (list && list->piece[id])
		return list->piece[id];
	return inst && inst->piece[id] ? inst->piece[id] : "";
}

/*
 * notice_piece_line - a piece as the value of a placeholder: into out,
 * without its last line ends (a piece is whole lines; a value sits inside
 * a sentence). -1 when neither set has it (out is then "").
 */
int
notice_piece_line(const struct notices *list, const struct notices *inst,
    enum piece_id id, const struct notice_ctx *ctx, const char *const *vars,
    char *out, size_t n)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = notice_piece(list, inst, id, ctx, vars, &b);
	while (rc == 0 && b.len && b.data[b.len - 1] == '\n')
		b.len--;
	if (n > 0)
		snprintf(out, n, "%.*s", rc == 0 ? (int)b.len : 0,
		    rc == 0 ? (const char *)b.data : "");
	buf_free(&b);
	return rc;
}

/*
 * notice_display - a piece as a display name (From:) or a header's words,
 * appended to out: one line, control characters, quotes and backslashes
 * made spaces (a translation cannot break out of the header); quoted when
 * ASCII and quote is set, else RFC 2047 encoded-words. fallback when
 * neither set has the piece or it is empty, which a loaded set never is.
 */
int
notice_display(const struct notices *list, const struct notices *inst,
    enum piece_id id, const struct notice_ctx *ctx, const char *const *vars,
    const char *fallback, int quote, struct buf *out)
{
	char w[400];
	int ascii = 1;

	if (notice_piece_line(list, inst, id, ctx, vars, w, sizeof(w)) < 0 ||
	    !*w)
		snprintf(w, sizeof(w), "%s", fallback);
	for (char *c = w; *c; c++) {
		if ((unsigned char)*c < 0x20 || (quote && (*c == '"' ||
		    *c == '\\')))
			*c = ' ';
		ascii &= (unsigned char)*c < 0x80;
	}
	if (!ascii)
		return notice_subject(w, out);
	return quote ? buf_printf(out, "\"%s\"", w) : buf_puts(out, w);
}

/*
 * notice_from - "From: NAME <local@host>" and its line end, NAME the
 * piece as notice_display makes it (the list's name if the piece is
 * missing); local is "" for the list's own address, else a suffix
 * such as "-owner"
 */
int
notice_from(const struct notices *list, const struct notices *inst,
    enum piece_id id, const struct notice_ctx *ctx, const char *const *vars,
    const char *local, struct buf *out)
{
	if (buf_puts(out, "From: ") < 0 ||
	    notice_display(list, inst, id, ctx, vars, ctx->list, 1, out) < 0)
		return -1;
	return buf_printf(out, " <%s%s@%s>\r\n", ctx->list, local, ctx->host);
}

#define REASON_ROW(e, code, piece) { code, piece },
static const struct {
	const char	*code;
	enum piece_id	 piece;
} reason_defs[REASON_N] = { REASON_TABLE(REASON_ROW) };
#undef REASON_ROW

/* reason_code - the stable code of a reason, as the log writes it */
const char *
reason_code(enum reason_id id)
{
	return (unsigned)id < REASON_N ? reason_defs[id].code : "?";
}

/*
 * notice_reason - a reason in words, for a notice's {why} or {reason}: its
 * piece, one line (the list's, else the instance's); its code if neither
 * has it, which a loaded set always does
 */
void
notice_reason(const struct notices *list, const struct notices *inst,
    const struct notice_ctx *ctx, enum reason_id id, const char *const *vars,
    char *out, size_t n)
{
	if (notice_piece_line(list, inst, reason_piece(id), ctx, vars, out,
	    n) < 0)
		snprintf(out, n, "%s", reason_code(id));
}

/* reason_piece - the piece that words a reason (PIECE_N: none) */
enum piece_id
reason_piece(enum reason_id id)
{
	return (unsigned)id < REASON_N ? reason_defs[id].piece : PIECE_N;
}
