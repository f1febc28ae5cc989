/*
 * html.c - make a post's HTML safe to hand to every member's mail client.
 *
 * A hostile member can post an image (or a style sheet, a font, an
 * iframe...) that loads from their own server: every reader who opens the
 * post then tells that server their IP address and when they read it. So
 * the HTML is parsed with an HTML5 parser (gumbo, which parses the way
 * browsers do - never regular expressions) and written out again from the
 * tree, keeping only what cannot reach the network by itself:
 *  - elements that load or run things are dropped with their content
 *    (script, iframe, object, embed, audio, video, link, meta, base, form,
 *    svg, ...); unknown elements are dropped, their text kept;
 *  - attributes that load things (src, srcset, background, poster, ...)
 *    are kept only for cid: (a part of the same message, renamed to its
 *    new Content-ID) and data:image/ URLs (a JPEG, PNG or WebP in one
 *    loses its EXIF as an attachment does); event handlers (on*) never;
 *  - style attributes and style elements go if they could load anything
 *    (url(, @import, image-set, expression, or any CSS escape);
 *  - comments go (they carry editor fingerprints and conditional markup).
 * Links (<a href>) stay: they load nothing until a reader chooses to.
 *
 * Cost: linear in the HTML. gumbo parses in O(n) once it records no
 * errors (each kept error copies the stack of open elements: O(n^2) on a
 * deep unclosed nesting); the tree is written out by an explicit-stack
 * walk, O(nodes + text), and flattened before gumbo frees it (its free is
 * recursive: a deep tree overflowed the stack). Past HTML_MAX_DEPTH open
 * elements tags are dropped, their text kept.
 */
#include <gumbo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "pipeline/html.h"
#include "pipeline/meta.h"

/* open elements written at most; deeper tags are dropped, their text kept */
#define HTML_MAX_DEPTH	256

/* elements dropped together with everything inside them */
static const GumboTag drop_tags[] = {
	GUMBO_TAG_SCRIPT, GUMBO_TAG_IFRAME, GUMBO_TAG_FRAME, GUMBO_TAG_FRAMESET, GUMBO_TAG_OBJECT,
	GUMBO_TAG_EMBED, GUMBO_TAG_APPLET, GUMBO_TAG_AUDIO, GUMBO_TAG_VIDEO, GUMBO_TAG_SOURCE,
	GUMBO_TAG_TRACK, GUMBO_TAG_LINK, GUMBO_TAG_META, GUMBO_TAG_BASE, GUMBO_TAG_FORM, GUMBO_TAG_INPUT,
	GUMBO_TAG_BUTTON, GUMBO_TAG_SELECT, GUMBO_TAG_TEXTAREA, GUMBO_TAG_SVG, GUMBO_TAG_MATH,
	GUMBO_TAG_NOSCRIPT, GUMBO_TAG_TEMPLATE, GUMBO_TAG_BGSOUND, GUMBO_TAG_PARAM, GUMBO_TAG_TITLE,
	GUMBO_TAG_LAST
};
static const GumboTag void_tags[] = {
	GUMBO_TAG_AREA, GUMBO_TAG_BR, GUMBO_TAG_COL, GUMBO_TAG_HR, GUMBO_TAG_IMG, GUMBO_TAG_WBR,
	GUMBO_TAG_LAST
};
static const GumboTag block_tags[] = {
	GUMBO_TAG_P, GUMBO_TAG_DIV, GUMBO_TAG_BR, GUMBO_TAG_LI, GUMBO_TAG_TR, GUMBO_TAG_H1, GUMBO_TAG_H2,
	GUMBO_TAG_H3, GUMBO_TAG_H4, GUMBO_TAG_H5, GUMBO_TAG_H6, GUMBO_TAG_BLOCKQUOTE, GUMBO_TAG_PRE,
	GUMBO_TAG_TABLE, GUMBO_TAG_UL, GUMBO_TAG_OL, GUMBO_TAG_HR, GUMBO_TAG_LAST
};
/* attributes whose value the client fetches without being asked */
static const char *const load_attrs[] = {
	"src", "srcset", "background", "poster", "lowsrc", "dynsrc", "data", "action", "formaction",
	"ping", "longdesc", "usemap", "manifest", "codebase", "archive", "xlink:href", "imagesrcset", NULL
};

/* what a data: URL written back unescaped may hold (RFC 2397, base64) */
#define DATA_URL_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
	"0123456789+/=;,:-._ \t\r\n%"

struct html_ctx {
	int		 policy;
	const struct html_cid *cids;
	int		 ncids;
	struct buf	*out, *text;
	int		 removed;
};

/* tag_in - is t in the GUMBO_TAG_LAST-terminated list? */
static int
tag_in(GumboTag t, const GumboTag *list)
{
	for (; *list != GUMBO_TAG_LAST; list++)
		if (*list == t)
			return 1;
	return 0;
}

/* css_loads - could this CSS fetch anything? (escapes count as yes: they hide "url") */
static int
css_loads(const char *s)
{
	return strcasestr(s, "url") || strcasestr(s, "@import") || strcasestr(s, "image") ||
	    strcasestr(s, "expression") || strchr(s, '\\') || strcasestr(s, "behavior") ||
	    strcasestr(s, "-moz-binding") || strcasestr(s, "src");
}

/* escape - text or attribute value, HTML-escaped */
static void
escape(struct buf *b, const char *s, int attr)
{
	for (; *s; s++) {
		if (*s == '&')
			buf_puts(b, "&amp;");
		else if (*s == '<')
			buf_puts(b, "&lt;");
		else if (*s == '>')
			buf_puts(b, "&gt;");
		else if (attr && *s == '"')
			buf_puts(b, "&quot;");
		else
			buf_putc(b, *s);
	}
}

/* cid_new - the renamed Content-ID for "cid:OLD", or NULL */
static const char *
cid_new(const struct html_ctx *c, const char *v)
{
	if (strncasecmp(v, "cid:", 4) != 0)
		return NULL;
	for (int i = 0; i < c->ncids; i++)
		if (strcmp(c->cids[i].old, v + 4) == 0)
			return c->cids[i].new;
	return NULL;
}

/*
 * data_image - <img src="data:image/...;base64,..."> (a photo pasted into
 * the mail) written as the attachment it is: a JPEG, PNG or WebP without
 * its hidden data (meta.c), another kind as it was; 0, or -1 when it must
 * go (a phone's HEIC, or an image the walker cannot read)
 */
static int
data_image(struct buf *b, const char *v)
{
	const char *comma = strchr(v, ','), *end;
	size_t n, len;
	unsigned char *bin;
	struct buf clean;
	char *b64;
	int removed = 0, rc = -1;

	if (!comma || comma - v < 18 ||
	    strncasecmp(comma - 7, ";base64", 7) != 0)
		/* percent-encoded bytes can hold a JPEG's EXIF too, an SVG its
		 * <metadata>: what is not walked does not go (fail closed) */
		return -1;
	n = strlen(comma + 1);
	if ((bin = malloc(n / 4 * 3 + 3)) == NULL)
		return -1;
	if (sodium_base642bin(bin, n / 4 * 3 + 3, comma + 1, n, " \t\r\n",
	    &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    meta_kind(bin, len) == META_UNWALKED) {
		free(bin);
		return -1;
	}
	buf_init(&clean, 0);
	if (meta_kind(bin, len) == META_OTHER)
		rc = buf_append(&clean, bin, len);
	else
		rc = meta_image_strip(bin, len, &clean, &removed);
	n = sodium_base64_encoded_len(clean.len,
	    sodium_base64_VARIANT_ORIGINAL);
	if (rc == 0 && clean.data && (b64 = malloc(n)) != NULL) {
		sodium_bin2base64(b64, n, clean.data, clean.len,
		    sodium_base64_VARIANT_ORIGINAL);
		buf_printf(b, " src=\"%.*s%s\"", (int)(comma + 1 - v), v, b64);
		free(b64);
	} else
		rc = -1;
	buf_free(&clean);
	free(bin);
	return rc;
}

/* attr_out - one attribute, if it is harmless */
static void
attr_out(struct html_ctx *c, GumboTag tag, const GumboAttribute *a)
{
	const char *v = a->value, *cid;
	struct buf *b = c->out;
	int loads = 0;

	if (strncasecmp(a->name, "on", 2) == 0 || (strchr(a->name, ':') && strcasecmp(a->name, "xlink:href")))
		return;
	for (int i = 0; load_attrs[i]; i++)
		if (strcasecmp(a->name, load_attrs[i]) == 0)
			loads = 1;
	if (strcasecmp(a->name, "href") == 0 && tag != GUMBO_TAG_A && tag != GUMBO_TAG_AREA)
		loads = 1;
	if (loads) {
		if ((cid = cid_new(c, v)) != NULL) {
			buf_printf(b, " %s=\"cid:", a->name);
			escape(b, cid, 1);
			buf_putc(b, '"');
			return;
		}
		if (strncasecmp(v, "data:image/", 11) == 0 &&
		    strcasecmp(a->name, "src") == 0 &&
		    strspn(v, DATA_URL_CHARS) == strlen(v) &&
		    data_image(b, v) == 0)
			return;
		c->removed++;
		return;
	}
	if (strcasecmp(a->name, "style") == 0 && css_loads(v)) {
		c->removed++;
		return;
	}
	buf_printf(b, " %s=\"", a->name);
	escape(b, v, 1);
	buf_putc(b, '"');
}

/* tag_name - the name to write, "" for elements we do not write */
static const char *
tag_name(const GumboElement *e)
{
	return e->tag == GUMBO_TAG_UNKNOWN ? "" : gumbo_normalized_tagname(e->tag);
}

/* style_text - the text of a <style> element; O(its text) */
static void
style_text(const GumboElement *e, struct buf *b)
{
	for (unsigned i = 0; i < e->children.length; i++) {
		const GumboNode *n = e->children.data[i];

		if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE)
			buf_puts(b, n->v.text.text);
	}
}

/* style_out - a <style> element, if its CSS loads nothing */
static void
style_out(struct html_ctx *c, const GumboElement *e)
{
	struct buf css;

	buf_init(&css, 0);
	style_text(e, &css);
	if (css_loads(buf_cstr(&css)))
		c->removed++;
	else
		buf_printf(c->out, "<style>%s</style>", buf_cstr(&css));
	buf_free(&css);
}

/*
 * open_element - write an element's start tag; 1 if its children are to
 * be walked (then close_element follows them), 0 if it is done with.
 * Past HTML_MAX_DEPTH open elements, tags are dropped and the text kept:
 * a nesting that deep is a bomb for every reader's client too.
 */
static int
open_element(struct html_ctx *c, const GumboNode *n, int depth, int *written)
{
	const GumboElement *e = &n->v.element;
	const char *name = tag_name(e);

	*written = 0;
	if (tag_in(e->tag, drop_tags)) {
		c->removed += e->tag != GUMBO_TAG_TITLE && e->tag != GUMBO_TAG_META;
		return 0;
	}
	if (e->tag == GUMBO_TAG_STYLE) {
		style_out(c, e);
		return 0;
	}
	if (*name == 0 || depth >= HTML_MAX_DEPTH)
		return 1;	/* unknown (or too deep): drop the tag, keep what it says */
	buf_printf(c->out, "<%s", name);
	for (unsigned i = 0; i < e->attributes.length; i++)
		attr_out(c, e->tag, e->attributes.data[i]);
	buf_putc(c->out, '>');
	if (tag_in(e->tag, void_tags)) {
		if (e->tag == GUMBO_TAG_BR)
			buf_putc(c->text, '\n');
		return 0;
	}
	*written = 1;
	return 1;
}

/* close_element - the end tag of an element whose start tag was written */
static void
close_element(struct html_ctx *c, const GumboNode *n)
{
	const GumboElement *e = &n->v.element;

	buf_printf(c->out, "</%s>", tag_name(e));
	if (tag_in(e->tag, block_tags))
		buf_putc(c->text, '\n');
}

/* children_of - the children of an element, a template or the document */
static const GumboVector *
children_of(const GumboNode *n)
{
	return n->type == GUMBO_NODE_DOCUMENT ? &n->v.document.children : &n->v.element.children;
}

/* leaf_out - a text node (comments and CDATA go) */
static void
leaf_out(struct html_ctx *c, const GumboNode *n)
{
	if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE) {
		escape(c->out, n->v.text.text, 0);
		buf_puts(c->text, n->v.text.text);
	}
}

/* frame - one open node of the walk: where in its children we are */
struct frame {
	const GumboNode	*node;
	unsigned	 next;
	int		 written;	/* its end tag is due */
};

/*
 * tree_out - the document, written out from the tree. O(nodes + text):
 * each node is entered and left once. An explicit stack, not recursion:
 * the tree is as deep as the post makes it (a 2 MB post, 400,000 levels).
 */
static int
tree_out(struct html_ctx *c, const GumboNode *doc)
{
	struct frame *st;
	size_t top = 0, cap = 64;
	const GumboNode *n;

	if ((st = malloc(cap * sizeof(*st))) == NULL)
		return -1;
	buf_puts(c->out, "<!DOCTYPE html>\r\n");
	st[0] = (struct frame){ doc, 0, 0 };
	for (;;) {
		struct frame *f = &st[top];
		const GumboVector *kids = children_of(f->node);

		if (f->next >= kids->length) {	/* done with this node */
			if (f->written)
				close_element(c, f->node);
			if (top-- == 0)
				break;
			continue;
		}
		n = kids->data[f->next++];
		if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE) {
			leaf_out(c, n);
			continue;
		}
		if (top + 1 == cap) {
			struct frame *ns = realloc(st, 2 * cap * sizeof(*st));

			if (ns == NULL) {
				free(st);
				return -1;
			}
			st = ns;
			cap *= 2;
		}
		st[top + 1] = (struct frame){ n, 0, 0 };
		if (open_element(c, n, (int)top, &st[top + 1].written))
			top++;
	}
	free(st);
	return 0;
}

/* g_alloc, g_free - gumbo's memory: ours, so that flatten may hand it back */
static void *
g_alloc(void *u, size_t n)
{
	(void)u;
	return malloc(n);
}

static void
g_free(void *u, void *p)
{
	(void)u;
	free(p);
}

/*
 * flatten - make every node a child of the document, so that gumbo's
 * (recursive) gumbo_destroy_output goes one level deep: freeing a 400,000
 * level tree overflowed the stack. Each element keeps its children array
 * (gumbo frees it) with length 0. O(nodes). -1: out of memory, and then
 * the tree is left as it is (to be leaked: safer than a crash).
 */
static int
flatten(GumboNode *doc)
{
	GumboVector *dv = &doc->v.document.children, all = { NULL, 0, 0 };
	size_t cap = 256;

	if ((all.data = malloc(cap * sizeof(void *))) == NULL)
		return -1;
	for (unsigned i = 0; i < dv->length; i++)
		all.data[all.length++] = dv->data[i];
	/* all grows while it is walked: every node is visited once */
	for (unsigned i = 0; i < all.length; i++) {
		GumboNode *n = all.data[i];
		GumboVector *kv;

		if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_TEMPLATE)
			continue;
		kv = &n->v.element.children;
		if (all.length + kv->length > cap) {
			void **nd;

			while (all.length + kv->length > cap)
				cap *= 2;
			if ((nd = realloc(all.data, cap * sizeof(void *))) == NULL) {
				free(all.data);
				return -1;
			}
			all.data = nd;
		}
		for (unsigned k = 0; k < kv->length; k++)
			all.data[all.length++] = kv->data[k];
		kv->length = 0;
	}
	free(dv->data);
	all.capacity = (unsigned)cap;
	*dv = all;
	return 0;
}

/*
 * html_sanitize - html (UTF-8) rewritten into out without remote content;
 * its text goes to text. Returns how many things were removed.
 */
int
html_sanitize(const char *html, size_t len, const struct html_cid *cids, int ncids, struct buf *out,
    struct buf *text)
{
	struct html_ctx c = { HTML_STRIP_REMOTE, cids, ncids, out, text, 0 };
	GumboOptions opt = kGumboDefaultOptions;
	GumboOutput *o;
	int rc;

	/*
	 * No parse errors recorded: gumbo copies the stack of open elements
	 * into every error it keeps, so a deep unclosed nesting (one error
	 * per element at the end) cost O(depth^2) - 22 s for 214 KB.
	 */
	opt.max_errors = 0;
	opt.allocator = g_alloc;
	opt.deallocator = g_free;
	if ((o = gumbo_parse_with_options(&opt, html, len)) == NULL)
		return -1;
	rc = tree_out(&c, o->document);
	if (flatten(o->document) == 0)
		gumbo_destroy_output(&opt, o);
	if (rc < 0)
		return -1;
	buf_puts(out, "\r\n");
	return c.removed;
}
