/* The control protocol's JSON reader: RFC 8259 exactly (reader.h).
 *
 * Why so strict for two small messages: what the daemon answers as
 * "status" must be what every other JSON reader would read as
 * {"cmd":"status"}, never a prefix that strtod, a C string's NUL or a
 * lenient whitespace rule made look like one (issue 28); and a daemon
 * that answers garbage gets a clear error, never a half-read value. */
#include <stdint.h>
#include <string.h>

#include "reader.h"

struct reader {
	const unsigned char *p, *end;
	int depth;
	const char *want[2];	/* the path of keys asked for */
	int want_len;
	char *out;
	size_t out_size;
	int found;	/* 1 copied whole, -1 there but too long for out */
	const char *path[CONTROL_JSON_DEPTH];
};

/* The next byte, or -1 at the end of the text. */
static int peek(const struct reader *r)
{
	return r->p < r->end ? *r->p : -1;
}

static void skip_ws(struct reader *r)
{
	while (peek(r) == ' ' || peek(r) == '\t' || peek(r) == '\n' || peek(r) == '\r')
		r->p++;
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t n;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		lo = c == 0xE0 ? 0xA0 : lo;
		hi = c == 0xED ? 0x9F : hi;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		lo = c == 0xF0 ? 0x90 : lo;
		hi = c == 0xF4 ? 0x8F : hi;
	} else {
		return 0;
	}
	if (left < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Four hex digits after \u; -1 when they are not. */
static long hex4(struct reader *r)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		int c = peek(r), d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
		r->p++;
	}
	return v;
}

/* A \u escape (its backslash and u read), a surrogate pair joined; into
 * utf8 (4 bytes at most). Returns the byte count, or 0 when malformed. A
 * lone surrogate is valid JSON (section 8.2 only warns); it reads as
 * U+FFFD, as U+0000 does (the copy is a C string). */
static size_t unicode_escape(struct reader *r, unsigned char *utf8)
{
	long cp = hex4(r);
	if (cp < 0)
		return 0;
	if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
		const unsigned char *save = r->p;
		r->p += 2;
		long lo = hex4(r);
		if (lo < 0)
			return 0;
		if (lo >= 0xDC00 && lo <= 0xDFFF)
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		else
			r->p = save;	/* not a pair: the second escape is read on its own */
	}
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		utf8[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		utf8[0] = (unsigned char)(0xC0 | cp >> 6);
		utf8[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		utf8[0] = (unsigned char)(0xE0 | cp >> 12);
		utf8[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		utf8[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	utf8[0] = (unsigned char)(0xF0 | cp >> 18);
	utf8[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	utf8[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	utf8[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* One character of a string (not its closing quote) into ch; its byte
 * count, or 0 when it is not JSON. */
static size_t string_char(struct reader *r, unsigned char *ch)
{
	static const char escapes[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
	int c = peek(r);
	if (c < 0x20)
		return 0;	/* the end, NUL, a raw control byte */
	if (c != '\\') {
		size_t n = utf8_seq(r->p, (size_t)(r->end - r->p));
		memcpy(ch, r->p, n);
		r->p += n;
		return n;
	}
	r->p++;
	c = peek(r);
	r->p++;
	if (c == 'u')
		return unicode_escape(r, ch);
	const char *e = c > 0 ? strchr(escapes, c) : NULL;
	if (e == NULL)
		return 0;
	ch[0] = (unsigned char)meant[e - escapes];
	return 1;
}

/* A string, decoded into buf when buf is not NULL. Returns 0, 1 when it
 * did not fit in buf (read whole all the same), -1 when it is not JSON. */
static int parse_string(struct reader *r, char *buf, size_t size)
{
	size_t n = 0;
	int cut = 0;
	if (peek(r) != '"')
		return -1;
	r->p++;
	while (peek(r) != '"') {
		unsigned char ch[4];
		size_t k = string_char(r, ch);
		if (k == 0)
			return -1;
		if (buf && n + k < size) {
			memcpy(buf + n, ch, k);
			n += k;
		} else {
			cut = 1;
		}
	}
	r->p++;
	if (buf && size > 0)
		buf[n] = '\0';
	return cut;
}

static int digits(struct reader *r)
{
	const unsigned char *start = r->p;
	while (peek(r) >= '0' && peek(r) <= '9')
		r->p++;
	return r->p > start ? 0 : -1;
}

/* Section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int parse_number(struct reader *r)
{
	if (peek(r) == '-')
		r->p++;
	if (peek(r) == '0')
		r->p++;
	else if (digits(r) != 0)
		return -1;
	if (peek(r) == '.') {
		r->p++;
		if (digits(r) != 0)
			return -1;
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		r->p++;
		if (peek(r) == '+' || peek(r) == '-')
			r->p++;
		if (digits(r) != 0)
			return -1;
	}
	return 0;
}

static int literal(struct reader *r, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
		return -1;
	r->p += n;
	return 0;
}

static int path_matches(const struct reader *r)
{
	if (r->depth != r->want_len)
		return 0;
	for (int i = 0; i < r->want_len; i++)
		if (strcmp(r->path[i], r->want[i]) != 0)
			return 0;
	return 1;
}

static int parse_value(struct reader *r);

/* The members of an object or the elements of an array, its opening
 * bracket read; close is '}' or ']'. */
static int parse_members(struct reader *r, int close)
{
	char key[64];
	skip_ws(r);
	if (peek(r) == close) {
		r->p++;
		return 0;
	}
	if (r->depth >= CONTROL_JSON_DEPTH)
		return -1;
	for (;;) {
		skip_ws(r);
		const char *name = "[]";
		if (close == '}') {
			int rc = parse_string(r, key, sizeof(key));
			if (rc < 0)
				return -1;
			name = rc == 0 ? key : "";	/* a key cut short matches nothing we ask */
			skip_ws(r);
			if (peek(r) != ':')
				return -1;
			r->p++;
			skip_ws(r);
		}
		r->path[r->depth++] = name;
		int rc = parse_value(r);
		r->path[--r->depth] = NULL;	/* key is this frame's: no pointer to it outlives it */
		if (rc != 0)
			return -1;
		skip_ws(r);
		int c = peek(r);
		r->p++;
		if (c == close)
			return 0;
		if (c != ',')
			return -1;
	}
}

static int parse_value(struct reader *r)
{
	const unsigned char *start = r->p;
	int c = peek(r), match = path_matches(r), rc;
	if (c == '{' || c == '[') {
		r->p++;
		return parse_members(r, c == '{' ? '}' : ']');
	}
	if (c == '"') {
		if ((rc = parse_string(r, match ? r->out : NULL, r->out_size)) < 0)
			return -1;
		if (match)
			r->found = rc == 0 ? 1 : -1;
		return 0;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		rc = parse_number(r);
	else
		rc = c == 't' ? literal(r, "true") : c == 'f' ? literal(r, "false") : literal(r, "null");
	if (rc != 0)
		return -1;
	if (match) {
		size_t n = (size_t)(r->p - start);
		r->found = n < r->out_size ? 1 : -1;
		if (r->found == 1) {
			memcpy(r->out, start, n);
			r->out[n] = '\0';
		}
	}
	return 0;
}

int control_json_get(const char *text, size_t len, const char *key, const char *sub, char *out,
		     size_t size)
{
	struct reader r = { .p = (const unsigned char *)text, .end = (const unsigned char *)text + len,
			    .want = { key, sub }, .want_len = sub ? 2 : 1, .out = out, .out_size = size };
	if (size == 0)
		return 0;
	out[0] = '\0';
	skip_ws(&r);
	if (peek(&r) != '{' || parse_value(&r) != 0)
		return -1;
	skip_ws(&r);	/* a trailing LF (or CRLF) is whitespace too */
	if (r.p != r.end)
		return -1;
	if (r.found != 1)
		out[0] = '\0';
	return r.found == 1;
}
