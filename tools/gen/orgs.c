/*
 * The organisation dimension: every version of every organisation, in
 * order of UpdatedAt.  Version 1 predates the data; later versions rename
 * the organisation or move it to another region during the data's span,
 * so a join has to take the version in force at each record's time (or
 * the latest, by Version).  OrgID is the tenant_id of the other kinds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"

#include "gen.h"

enum { F_ORG, F_NAME, F_REGION, F_UPDATED, F_VERSION, NFIELDS };

static const struct field fields[NFIELDS] = {
	FIELD("OrgID", "OrgID", FT_STR, FF_MUST | FF_PLAIN | FF_ID, 1, -1,
	    NULL),
	FIELD("OrgName", "OrgName", FT_STR, FF_MUST, 1, -1, NULL),
	FIELD("Region", "Region", FT_STR, FF_MUST | FF_PLAIN, 1, -1, NULL),
	FIELD("UpdatedAt", "UpdatedAt", FT_TIME, FF_MUST, 1, -1, NULL),
	FIELD("Version", "Version", FT_INT, FF_MUST, 1, -1, "0"),
};

struct row {
	const struct tenant	*t;
	int			 v;	/* index into t->ver */
};

static int by_time(const void *a, const void *b);
static void fmt_org(struct emit *e, const void *rec);

static int
by_time(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int64_t ta = x->t->ver[x->v].at, tb = y->t->ver[y->v].at;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->v - y->v;
}

static void
fmt_org(struct emit *e, const void *rec)
{
	const struct row *r = rec;
	const struct version *v = &r->t->ver[r->v];

	em_strz(e, F_ORG, r->t->id);
	em_strz(e, F_NAME, v->name);
	em_strz(e, F_REGION, r->t->home->region[v->region]);
	em_time(e, F_UPDATED, v->at);
	em_int(e, F_VERSION, r->v + 1);
}

void
gen_orgs(struct gen *g)
{
	const struct world *w = &g->world;
	struct row *rows;
	size_t n = 0, i;
	uint32_t k;
	int v;

	for (k = 0; k < w->ntenant; k++)
		n += (size_t)w->tenant[k].nver;
	rows = cdr_xcalloc(n, sizeof(*rows));
	for (i = 0, k = 0; k < w->ntenant; k++) {
		for (v = 0; v < w->tenant[k].nver; v++) {
			rows[i].t = &w->tenant[k];
			rows[i++].v = v;
		}
	}
	qsort(rows, n, sizeof(*rows), by_time);
	sink_start(&g->sink, g, fields, NFIELDS, 1, n);
	for (i = 0; i < n; i++)
		sink_record(&g->sink, fmt_org, &rows[i], 0, NULL);
	sink_finish(&g->sink);
	free(rows);
}
