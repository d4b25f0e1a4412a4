/* The classification itself, and the contract's line for it. Nothing here
 * touches SQLite, so that banger, which parses a child's line, does not
 * need to load it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int id_list_push(struct id_list *list, int64_t id)
{
	/* Grow in powers of two; count is bounded by the callers. */
	if ((list->count & (list->count - 1)) == 0) {
		size_t cap = list->count ? list->count * 2 : 8;
		int64_t *ids = realloc(list->ids, cap * sizeof(*ids));
		if (ids == NULL)
			return -ENOMEM;
		list->ids = ids;
	}
	list->ids[list->count++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int contains(const int64_t *sorted, size_t n, int64_t id)
{
	return bsearch(&id, sorted, n, sizeof(*sorted), cmp_id) != NULL;
}

int schema_compare(const int64_t *applied, size_t applied_count,
		   const struct migration_set *known, struct schema_report *out)
{
	memset(out, 0, sizeof(*out));
	int64_t *sorted = malloc((applied_count ? applied_count : 1) * sizeof(*sorted));
	if (sorted == NULL)
		return -ENOMEM;
	if (applied_count)
		memcpy(sorted, applied, applied_count * sizeof(*sorted));
	qsort(sorted, applied_count, sizeof(*sorted), cmp_id);
	out->applied.ids = sorted;
	out->applied.count = applied_count;

	int64_t *known_ids = malloc((known->count ? known->count : 1) * sizeof(*known_ids));
	if (known_ids == NULL)
		goto nomem;
	for (size_t i = 0; i < known->count; i++)
		known_ids[i] = known->items[i].id;
	out->known.ids = known_ids;
	out->known.count = known->count;

	for (size_t i = 0; i < known->count; i++)
		if (!contains(sorted, applied_count, known_ids[i]) &&
		    id_list_push(&out->pending, known_ids[i]) < 0)
			goto nomem;
	for (size_t i = 0; i < applied_count; i++)
		if (!contains(known_ids, known->count, sorted[i]) &&
		    id_list_push(&out->unknown, sorted[i]) < 0)
			goto nomem;

	out->state = out->unknown.count   ? SCHEMA_INCOMPATIBLE
		     : out->pending.count ? SCHEMA_MIGRATIONS_NEEDED
					  : SCHEMA_COMPATIBLE;
	return 0;
nomem:
	schema_report_free(out);
	return -ENOMEM;
}

void schema_report_free(struct schema_report *r)
{
	free(r->applied.ids);
	free(r->known.ids);
	free(r->pending.ids);
	free(r->unknown.ids);
	memset(r, 0, sizeof(*r));
}

static void print_ids(const struct id_list *l, const char *sep, FILE *out)
{
	for (size_t i = 0; i < l->count; i++)
		fprintf(out, "%s%" PRId64, i ? sep : "", l->ids[i]);
}

static void print_json_list(const char *name, const struct id_list *l, FILE *out)
{
	fprintf(out, ",\"%s\":[", name);
	print_ids(l, ",", out);
	fputc(']', out);
}

static const char *const state_names[] = {
	[SCHEMA_COMPATIBLE] = "compatible",
	[SCHEMA_MIGRATIONS_NEEDED] = "migrations_needed",
	[SCHEMA_INCOMPATIBLE] = "incompatible",
};

int schema_report_print(const struct schema_report *r, bool json, FILE *out)
{
	if (json) {
		fprintf(out, "{\"state\":\"%s\"", state_names[r->state]);
		print_json_list("applied", &r->applied, out);
		print_json_list("known", &r->known, out);
		print_json_list("pending", &r->pending, out);
		print_json_list("unknown", &r->unknown, out);
		fputs("}\n", out);
	} else if (r->state == SCHEMA_COMPATIBLE) {
		fputs("compatible: applied [", out);
		print_ids(&r->applied, " ", out);
		fputs("]\n", out);
	} else if (r->state == SCHEMA_MIGRATIONS_NEEDED) {
		fputs("migrations needed: pending [", out);
		print_ids(&r->pending, " ", out);
		fputs("] (binary will apply on first Open)\n", out);
	} else {
		fputs("incompatible: unknown applied [", out);
		print_ids(&r->unknown, " ", out);
		fputs("] (binary older than DB)\n", out);
	}
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* "[" id (" " id)* "]": ids in canonical decimal (an optional '-', no
 * leading zero), strictly ascending, as print_ids() writes them; sets *end
 * past the ']'. An empty list is allowed only where allow_empty says so. */
static int parse_id_list(const char *s, const char **end, int allow_empty)
{
	if (*s++ != '[')
		return -EINVAL;
	int64_t prev = 0;
	int count = 0;
	while (*s != ']') {
		if (count > 0 && *s++ != ' ')
			return -EINVAL;
		char *stop;
		if (!(*s == '-' || (*s >= '0' && *s <= '9')))
			return -EINVAL;
		errno = 0;
		long long v = strtoll(s, &stop, 10);
		char canon[24];
		snprintf(canon, sizeof(canon), "%lld", v);
		if (errno != 0 || stop == s || strncmp(canon, s, (size_t)(stop - s)) != 0 ||
		    strlen(canon) != (size_t)(stop - s))
			return -EINVAL;
		if (count > 0 && v <= prev)
			return -EINVAL;
		s = stop;
		prev = v;
		count++;
	}
	if (count == 0 && !allow_empty)
		return -EINVAL;
	*end = s + 1;
	return 0;
}

int schema_line_parse(const char *line, enum schema_state *state)
{
	static const struct {
		const char *prefix, *suffix;
		enum schema_state state;
		int allow_empty;
	} forms[] = {
		{ "compatible: applied ", "", SCHEMA_COMPATIBLE, 1 },
		{ "migrations needed: pending ", " (binary will apply on first Open)",
		  SCHEMA_MIGRATIONS_NEEDED, 0 },
		{ "incompatible: unknown applied ", " (binary older than DB)", SCHEMA_INCOMPATIBLE, 0 },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t n = strlen(forms[i].prefix);
		const char *end;
		if (strncmp(line, forms[i].prefix, n) != 0)
			continue;
		if (parse_id_list(line + n, &end, forms[i].allow_empty) != 0 ||
		    strcmp(end, forms[i].suffix) != 0)
			return -EINVAL;
		*state = forms[i].state;
		return 0;
	}
	return -EINVAL;
}
