/*
 * Dead letters, error lists, record accounting, share/ look-up.
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadletter.h"
#include "write.h"

#ifndef CDR_DATADIR
#define CDR_DATADIR "/usr/local/share/cdrpipe"
#endif

void
cdr_errors_reset(struct cdr_errors *errs)
{
	errs->n = 0;
	cdr_buf_reset(&errs->text);
}

static size_t
store(struct cdr_errors *errs, const char *s)
{
	size_t at;

	if (s == NULL)
		return SIZE_MAX;
	at = errs->text.len;
	cdr_buf_add(&errs->text, s, strlen(s) + 1);
	return at;
}

void
cdr_errors_add(struct cdr_errors *errs, const char *field, const char *check,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (errs->n == errs->cap) {
		errs->cap = errs->cap ? errs->cap * 2 : 8;
		errs->e = cdr_xreallocarray(errs->e, errs->cap,
		    sizeof(*errs->e));
		errs->off = cdr_xreallocarray(errs->off, errs->cap * 3,
		    sizeof(*errs->off));
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Strings go to one buffer that may move: keep offsets. */
	errs->off[errs->n * 3] = store(errs, field);
	errs->off[errs->n * 3 + 1] = store(errs, check);
	errs->off[errs->n * 3 + 2] = store(errs, msg);
	errs->n++;
}

const struct cdr_error *
cdr_errors_list(struct cdr_errors *errs)
{
	size_t i, *o;

	for (i = 0; i < errs->n; i++) {
		o = &errs->off[i * 3];
		errs->e[i].field = o[0] == SIZE_MAX ? NULL : errs->text.p + o[0];
		errs->e[i].check = errs->text.p + o[1];
		errs->e[i].message = errs->text.p + o[2];
	}
	return errs->e;
}

void
cdr_errors_free(struct cdr_errors *errs)
{
	free(errs->e);
	free(errs->off);
	cdr_buf_free(&errs->text);
	memset(errs, 0, sizeof(*errs));
}

void
cdr_dead_letter_write(struct cdr_out *o, const struct cdr_record *rec,
    const struct cdr_error *errs, size_t n)
{
	size_t i;

	cdr_out_puts(o, "{\"source\":");
	cdr_write_json_string(o, rec->source, strlen(rec->source));
	cdr_out_printf(o, ",\"line\":%llu,\"offset\":%llu,\"errors\":[",
	    (unsigned long long)rec->lineno, (unsigned long long)rec->offset);
	for (i = 0; i < n; i++) {
		if (i > 0)
			cdr_out_putc(o, ',');
		cdr_out_puts(o, "{\"field\":");
		if (errs[i].field != NULL)
			cdr_write_json_string(o, errs[i].field,
			    strlen(errs[i].field));
		else
			cdr_out_puts(o, "null");
		cdr_out_puts(o, ",\"check\":");
		cdr_write_json_string(o, errs[i].check, strlen(errs[i].check));
		cdr_out_puts(o, ",\"message\":");
		cdr_write_json_string(o, errs[i].message,
		    strlen(errs[i].message));
		cdr_out_putc(o, '}');
	}
	cdr_out_putc(o, ']');
	if (strstr(rec->err, "(cut)") != NULL)
		cdr_out_puts(o, ",\"truncated\":true");
	if (cdr_utf8_valid(rec->line, rec->len)) {
		cdr_out_puts(o, ",\"record\":");
		cdr_write_json_string(o, rec->line, rec->len);
	} else {
		cdr_out_puts(o, ",\"record_base64\":\"");
		cdr_write_base64(o, rec->line, rec->len);
		cdr_out_putc(o, '"');
	}
	cdr_out_puts(o, "}\n");
}

void
cdr_counts_report(const struct cdr_counts *c, int quiet,
    const char *stats_path, const char *extra)
{
	struct cdr_out *o;
	char filtered[64] = "";

	if (c->filtered > 0)
		snprintf(filtered, sizeof(filtered), ", %llu filtered",
		    (unsigned long long)c->filtered);
	if (!quiet)
		cdr_warn("%llu read, %llu written, %llu rejected, "
		    "%llu duplicates%s", (unsigned long long)c->read,
		    (unsigned long long)c->written,
		    (unsigned long long)c->rejected,
		    (unsigned long long)c->duplicates, filtered);
	if (stats_path == NULL)
		return;
	o = cdr_out_open(stats_path, CDR_OUT_FORCE);
	if (o == NULL)
		cdr_die(CDR_EXIT_IO, "%s: cannot write statistics",
		    stats_path);
	cdr_out_printf(o, "{\"tool\":\"%s\",\"read\":%llu,\"written\":%llu,"
	    "\"rejected\":%llu,\"duplicates\":%llu,\"filtered\":%llu,"
	    "\"blank\":%llu,\"sources_failed\":%llu", cdr_progname(),
	    (unsigned long long)c->read, (unsigned long long)c->written,
	    (unsigned long long)c->rejected,
	    (unsigned long long)c->duplicates,
	    (unsigned long long)c->filtered, (unsigned long long)c->blank,
	    (unsigned long long)c->sources_failed);
	if (extra != NULL && *extra != '\0') {
		cdr_out_putc(o, ',');
		cdr_out_puts(o, extra);
	}
	cdr_out_puts(o, "}\n");
	cdr_out_commit(o);
}

static char *
existing(const char *dir, const char *rel)
{
	struct stat st;
	char *p;

	p = cdr_xmalloc(strlen(dir) + strlen(rel) + 2);
	sprintf(p, "%s/%s", dir, rel);
	if (stat(p, &st) == 0)
		return p;
	free(p);
	return NULL;
}

char *
cdr_share_path(const char *rel)
{
	char exe[PATH_MAX], *slash, *p;
	const char *env = getenv("CDR_SHARE");
	ssize_t n;

	if (env != NULL && *env != '\0')
		return existing(env, rel);
	if ((p = existing(CDR_DATADIR, rel)) != NULL)
		return p;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL || (size_t)(slash - exe) + 18 > sizeof(exe))
		return NULL;
	/* Installed elsewhere (PREFIX/bin next to PREFIX/share/cdrpipe)... */
	strcpy(slash, "/../share/cdrpipe");
	if ((p = existing(exe, rel)) != NULL)
		return p;
	/* ...or run from the build tree (build/bin next to share). */
	strcpy(slash, "/../../share");
	return existing(exe, rel);
}
