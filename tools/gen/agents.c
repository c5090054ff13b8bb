/*
 * Agent-state facts, as a workforce or real-time dashboard feed sees
 * them: each fact moves one agent along offline, available, busy
 * (on a contact), wrapup (after-contact work) and break, with the queue's
 * service level and longest wait at that moment.
 *
 * Facts come in arrival order; about 4% carry an EventTime up to two
 * minutes older than facts before them, as late events do, for watermark
 * and late-data handling.
 */
#include <stdint.h>
#include <stdlib.h>

#include "msg.h"

#include "gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { M_OFFLINE, M_AVAILABLE, M_BUSY, M_WRAPUP, M_BREAK, NMODES };

enum {
	F_AGENT, F_ORG, F_QUEUE, F_MODE, F_SKILL, F_HANDLE, F_SL, F_STATES,
	F_WAITING, F_TIME, NFIELDS
};

#define REQ_ID (FF_MUST | FF_PLAIN | FF_ID)

static const struct field fields[NFIELDS] = {
	FIELD("AgentId", "AgentId", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("OrgID", "OrgID", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("QueueId", "QueueId", FT_STR, FF_REQ | FF_PLAIN | FF_ID, 1, -1,
	    NULL),
	FIELD("WorkMode", "WorkMode", FT_STR, FF_MUST | FF_PLAIN | FF_ENUM, 1,
	    -1, NULL),
	FIELD("WorkSkill", "WorkSkill", FT_STR, FF_PLAIN, 1, -1, NULL),
	FIELD("HandleTime", "HandleTime", FT_INT, FF_MUST, 1, -1, "-12"),
	FIELD("ServiceLevel", "ServiceLevel", FT_FIXED, FF_REQ, 1, -1,
	    "1.370"),
	FIELD("WorkStates", "WorkStates", FT_LIST, FF_MUST, 1, -1, NULL),
	FIELD("WaitingTime", "WaitingTime", FT_INT, FF_MUST, 1, -1, "-4"),
	FIELD("EventTime", "EventTime", FT_TIME, FF_MUST, 1, -1, NULL),
};

static const char *const modes[NMODES] = {
	"offline", "available", "busy", "wrapup", "break"
};

/* Next mode by current mode, in working hours. */
static const unsigned short next_w[NMODES][NMODES] = {
	[M_OFFLINE] = { 0, 100, 0, 0, 0 },
	[M_AVAILABLE] = { 5, 17, 65, 0, 8 },
	[M_BUSY] = { 0, 0, 20, 80, 0 },
	[M_WRAPUP] = { 0, 88, 0, 0, 12 },
	[M_BREAK] = { 15, 85, 0, 0, 0 },
};

static const char *const on_contact[] = { "hold", "muted", "transfer" };
static const char *const not_ready[] = {
	"break", "lunch", "training", "meeting"
};

struct agent {
	unsigned char	mode;
	uint32_t	queue;	/* 1-based */
	int		handle;	/* seconds of the current or last contact */
};

struct fact {
	char		 agent[16];
	const char	*org;
	char		 queue[16];
	int		 mode;
	const char	*skill;
	int		 handle;
	int		 sl;	/* thousandths */
	const char	*states[3];
	int		 nstates;
	int		 waiting;
	int64_t		 at;
};

static void fmt_fact(struct emit *e, const void *rec);

static void
fmt_fact(struct emit *e, const void *rec)
{
	const struct fact *f = rec;

	em_strz(e, F_AGENT, f->agent);
	em_strz(e, F_ORG, f->org);
	em_strz(e, F_QUEUE, f->queue);
	em_strz(e, F_MODE, modes[f->mode]);
	em_strz(e, F_SKILL, f->skill);
	em_int(e, F_HANDLE, f->handle);
	em_fixed(e, F_SL, f->sl, 3);
	em_list(e, F_STATES, f->states, (size_t)f->nstates);
	em_int(e, F_WAITING, f->waiting);
	em_time(e, F_TIME, f->at);
}

void
gen_agent_states(struct gen *g)
{
	const struct world *w = &g->world;
	struct diurnal d;
	struct sampler sm;
	struct agent *ag;
	double *sl, load, late;
	const struct tenant *tn;
	struct fact f;
	struct rng r;
	unsigned short wt[NMODES];
	uint32_t a, i;
	uint64_t k;
	int64_t t;
	int mode, hour;

	rng_init(&r, g->seed, ST_AGENTS, 0);
	diurnal_init(&d, w, CURVE_CALLS, 0);
	if (g->rate <= 0)
		sampler_init(&sm, &d, g->start, g->span, g->count);
	ag = cdr_xcalloc(w->nagent, sizeof(*ag));
	for (i = 0; i < w->ntenant; i++) {
		tn = &w->tenant[i];
		for (a = 0; a < tn->nagent; a++)
			ag[tn->agent0 + a].queue = tn->queue0 + 1 +
			    a % tn->nqueue;
	}
	sl = cdr_xcalloc(w->nqueue, sizeof(*sl));
	for (i = 0; i < w->nqueue; i++)
		sl[i] = rng_between(&r, 0.75, 0.95);
	sink_start(&g->sink, g, fields, NFIELDS, 1,
	    g->unbounded ? 0 : g->count);

	for (k = 0; (g->unbounded || k < g->count) && !sink_stopped(); k++) {
		t = g->rate > 0 ? sink_time(&g->sink) :
		    sampler_time(&sm, k, rng_unit(&r));
		tn = &w->tenant[diurnal_pick(&d, &r, t)];
		a = tn->agent0 + (uint32_t)rng_below(&r, tn->nagent);
		hour = local_minute(tn->home, t) / 60;
		/* Shifts end in the evening: logging off becomes likely. */
		for (i = 0; i < NMODES; i++)
			wt[i] = next_w[ag[a].mode][i];
		if (hour < 7 || hour >= 20) {
			wt[M_OFFLINE] = (unsigned short)(wt[M_OFFLINE] * 8);
			if (ag[a].mode == M_OFFLINE)
				wt[M_OFFLINE] = 100;
		}
		mode = (int)rng_pick(&r, wt, NMODES);
		if (mode == M_AVAILABLE && ag[a].mode == M_AVAILABLE &&
		    rng_chance(&r, 0.3))
			ag[a].queue = tn->queue0 + 1 +
			    (uint32_t)rng_below(&r, tn->nqueue);

		f.nstates = 0;
		switch (mode) {
		case M_BUSY:
			if (ag[a].mode != M_BUSY) {
				ag[a].handle = 0;
			} else {
				ag[a].handle += (int)(rng_lognormal(&r, 60,
				    0.8));
				f.states[2] = on_contact[rng_below(&r,
				    NELEM(on_contact))];
				f.nstates = 1;
			}
			f.states[0] = "logged_in";
			f.states[1] = "on_contact";
			f.nstates += 2;
			break;
		case M_WRAPUP:
			ag[a].handle += (int)rng_lognormal(&r, 240, 0.7);
			f.states[0] = "logged_in";
			f.states[1] = "after_contact_work";
			f.nstates = 2;
			break;
		case M_AVAILABLE:
			f.states[0] = "logged_in";
			f.states[1] = "ready";
			f.nstates = 2;
			break;
		case M_BREAK:
			f.states[0] = "logged_in";
			f.states[1] = "not_ready";
			f.states[2] = not_ready[rng_below(&r,
			    NELEM(not_ready))];
			f.nstates = 3;
			break;
		default:
			ag[a].handle = 0;
			break;
		}
		ag[a].mode = (unsigned char)mode;

		load = diurnal_load(CURVE_CALLS, tn->home, t);
		i = ag[a].queue - 1;
		sl[i] += 0.01 * rng_normal(&r) - 0.02 * (load - 0.5);
		sl[i] = sl[i] < 0.35 ? 0.35 : sl[i] > 1 ? 1 : sl[i];
		fmt_id(f.agent, 'a', a + 1, 5);
		f.org = tn->id;
		fmt_id(f.queue, 'q', ag[a].queue, 4);
		f.mode = mode;
		f.skill = w->skill[i];
		f.handle = ag[a].handle;
		f.sl = (int)round_ms(sl[i] * 1000);
		f.waiting = (int)rng_lognormal(&r, 8 + 40 * load, 0.9);
		if (f.waiting > 1800)
			f.waiting = 1800;
		f.at = t;
		if (rng_chance(&r, 0.04)) {
			late = rng_lognormal(&r, 2, 1.2);
			f.at -= round_ms((late < 120 ? late : 120) * 1000);
		}
		sink_record(&g->sink, fmt_fact, &f, 0, NULL);
	}
	sink_finish(&g->sink);
	if (g->rate <= 0)
		sampler_free(&sm);
	free(sl);
	free(ag);
}
