/*
 * Call-detail records.
 *
 * A call is inbound (IVR, queue, agent), outbound (dialer: ring, then
 * agent) or internal.  Its status follows shares seen in contact centres
 * (ASR about 70%), and its times follow from the status: an answered call
 * has an answer time, talk time and wrap-up, an abandoned one ends in the
 * queue, a busy or failed one ends within seconds.
 */
#include <stdint.h>
#include <string.h>

#include "gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { CT_INBOUND, CT_OUTBOUND, CT_INTERNAL };
enum { ST_ANSWERED, ST_NO_ANSWER, ST_BUSY, ST_FAILED, ST_ABANDONED };

enum {
	F_CALL_ID, F_TENANT_ID, F_CALL_TYPE, F_START, F_ANSWER, F_END,
	F_DURATION, F_BILLSEC, F_AGENT, F_QUEUE, F_CALLER, F_CALLEE, F_STATUS,
	F_DISPOSITION, F_CAUSE, F_RECORDING, F_META, F_CAMPAIGN, F_REGION,
	F_CODEC, F_MOS, F_PDD, F_WRAPUP, F_TAGS, F_NOTES, NFIELDS
};

#define REQ_ID (FF_MUST | FF_PLAIN | FF_ID)

static const struct field fields[NFIELDS] = {
	FIELD("call_id", "call_id", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("tenant_id", "tenant_id", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("call_type", "call_type", FT_STR,
	    FF_MUST | FF_PLAIN | FF_ENUM, 1, -1, NULL),
	FIELD("start_time", "start_time", FT_TIME, FF_MUST | FF_START, 1, -1,
	    NULL),
	FIELD("answer_time", "answer_time", FT_TIME, FF_REQ, 1, -1, NULL),
	FIELD("end_time", "end_time", FT_TIME, FF_MUST | FF_END, 1, -1, NULL),
	FIELD("duration_s", "duration_s", FT_INT, FF_MUST, 1, -1, "-37"),
	FIELD("billsec", "billsec", FT_INT, FF_MUST, 1, -1, "-5"),
	FIELD("agent_id", "agent_id", FT_STR, FF_REQ | FF_PLAIN | FF_ID, 1, -1, NULL),
	FIELD("queue_id", "queue_id", FT_STR, FF_REQ | FF_PLAIN | FF_ID, 1, -1, NULL),
	FIELD("caller", "caller", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("callee", "callee", FT_STR, REQ_ID, 1, -1, NULL),
	FIELD("status", "status", FT_STR, FF_MUST | FF_PLAIN | FF_ENUM, 1, -1,
	    NULL),
	FIELD("disposition", "disposition", FT_STR, FF_REQ | FF_PLAIN, 1, -1, NULL),
	FIELD("hangup_cause", "hangup_cause", FT_INT, FF_MUST, 1, -1, "999"),
	FIELD("recording_key", "recording_key", FT_STR, FF_REQ | FF_PLAIN,
	    1, -1,
	    NULL),
	FIELD("meta", "meta", FT_OBJ, 0, 1, -1, NULL),
	FIELD("campaign_id", "meta.campaign_id", FT_STR, FF_PLAIN | FF_ID, 1,
	    F_META, NULL),
	FIELD("region", "meta.region", FT_STR, FF_NOTNULL | FF_PLAIN, 1,
	    F_META, NULL),
	FIELD("codec", "meta.codec", FT_STR, FF_PLAIN, 1, F_META, NULL),
	FIELD("mos", "meta.mos", FT_FIXED, 0, 1, F_META, "7.25"),
	FIELD("pdd_ms", "meta.pdd_ms", FT_INT, 0, 1, F_META, "-120"),
	FIELD("wrapup_s", "meta.wrapup_s", FT_INT, 0, 1, F_META, "-3"),
	FIELD("tags", "meta.tags", FT_LIST, FF_NOTNULL, 1, F_META, NULL),
	FIELD("notes", "meta.notes", FT_STR, 0, 1, F_META, NULL),
};

static const char *const call_types[] = { "inbound", "outbound", "internal" };
static const char *const statuses[] = {
	"answered", "no_answer", "busy", "failed", "abandoned"
};

/* Shares of each status (per mille) by call type. */
static const unsigned short status_w[3][5] = {
	{ 780, 30, 10, 40, 140 },
	{ 520, 280, 100, 60, 40 },
	{ 850, 100, 40, 10, 0 },
};

static const char *const disp_in[] = {
	"resolved", "follow_up", "transferred", "escalated",
	"callback_scheduled", "no_resolution", "spam", "wrong_number"
};
static const unsigned short disp_in_w[] = { 45, 15, 12, 6, 7, 10, 2, 3 };
static const char *const disp_out[] = {
	"sale", "no_sale", "callback_scheduled", "voicemail", "not_interested",
	"do_not_call", "wrong_number"
};
static const unsigned short disp_out_w[] = { 12, 30, 12, 20, 20, 3, 3 };
static const char *const disp_int[] = { "consult", "transfer" };

/* Q.850 causes of failed calls. */
static const int fail_causes[] = { 1, 21, 27, 28, 34, 38, 41, 102 };
static const unsigned short fail_causes_w[] = { 25, 15, 15, 10, 10, 10, 10, 5 };

static const char *const tags[] = {
	"vip", "callback", "complaint", "billing", "churn-risk",
	"new-customer", "spanish", "escalated", "survey", "repeat-caller"
};
static const unsigned short ntags_w[] = { 55, 30, 12, 3 };

/*
 * Free text as agents type it: accents, other scripts, emoji, quotes,
 * backslashes, a tab, a line break, and an empty note.
 */
static const char *const notes[] = {
	"Kunde m\xc3\xb6" "chte R\xc3\xbc" "ckruf morgen fr\xc3\xbc" "h",
	"Cliente pidi\xc3\xb3 \"factura\" nueva",
	"Escalated to tier 2 \xe2\x80\x94 see ticket #4471",
	"Path C:\\tickets\\2026\\11 attached",
	"\xe5\xae\xa2\xe6\x88\xb7\xe8\xa6\x81\xe6\xb1\x82\xe5\x9b\x9e\xe7\x94\xb5",
	"Tr\xc3\xa8s satisfait \xf0\x9f\x98\x8a",
	"Caller said: \"cancel everything\", then hung up",
	"Line 1\nLine 2",
	"Tab\tseparated\tnotes",
	"\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xc3\xb1 \xe2\x80\x94 ok "
	    "\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
	"\xd0\x97\xd0\xb0\xd0\xba\xd0\xb0\xd0\xb7 \xd0\xbe\xd1\x82\xd0\xbc\xd0"
	    "\xb5\xd0\xbd\xd1\x91\xd0\xbd",
	"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",
	"ok",
	"",
	"50% off, \"today only\" \\o/",
};

struct call {
	char			 id[40];
	const struct tenant	*t;
	int			 type;
	int			 status;
	int64_t			 start, answer, end;
	uint32_t		 agent, queue;	/* 0: none */
	char			 caller[24], callee[24];
	const char		*disposition;
	int			 cause;
	char			 key[256];
	int			 has_key;
	const char		*campaign;
	const char		*region;
	const char		*codec;
	int			 mos;	/* hundredths, -1: null */
	int			 pdd;
	int			 wrapup;	/* -1: null */
	const char		*tag[3];
	int			 ntag;
	const char		*notes;	/* NULL: absent */
};

static int64_t delay(struct rng *r, double median, double sigma,
    double cap);
static void make_call(struct rng *r, struct diurnal *d,
    const struct world *w, struct call *c, int64_t t);
static void fmt_call(struct emit *e, const void *rec);

char *
fmt_recording_key(char *d, const char *alias, const char *contact,
    int64_t at, struct daycache *dc)
{
	char iso[24];

	fmt_iso_ms(iso, at, dc);
	d = stpcpy(d, "connect/");
	d = stpcpy(d, alias);
	d = stpcpy(d, "/CallRecordings/");
	memcpy(d, iso, 4);
	d[4] = '/';
	memcpy(d + 5, iso + 5, 2);
	d[7] = '/';
	memcpy(d + 8, iso + 8, 2);
	d[10] = '/';
	d = stpcpy(d + 11, contact);
	*d++ = '_';
	memcpy(d, iso, 4);
	memcpy(d + 4, iso + 5, 2);
	memcpy(d + 6, iso + 8, 2);
	d[8] = 'T';
	memcpy(d + 9, iso + 11, 5);
	return stpcpy(d + 14, "_UTC.wav");
}

/* A lognormal delay in milliseconds, capped, in seconds as arguments. */
static int64_t
delay(struct rng *r, double median, double sigma, double cap)
{
	double s = rng_lognormal(r, median, sigma);

	return round_ms((s < cap ? s : cap) * 1000);
}

static void
make_call(struct rng *r, struct diurnal *d, const struct world *w,
    struct call *c, int64_t t)
{
	const struct tenant *tn = &w->tenant[diurnal_pick(d, r, t)];
	const struct home *h = tn->home;
	const struct home *other;
	int64_t setup, ring;
	double mos;
	size_t i, need;

	c->t = tn;
	fmt_uuid(c->id, r);
	c->type = rng_chance(r, 0.08) ? CT_INTERNAL :
	    rng_chance(r, tn->outbound) ? CT_OUTBOUND : CT_INBOUND;
	c->status = (int)rng_pick(r, status_w[c->type], 5);
	c->start = t;
	c->answer = -1;
	c->agent = c->queue = 0;
	c->disposition = NULL;
	c->campaign = NULL;
	c->codec = NULL;
	c->mos = -1;
	c->wrapup = -1;
	c->has_key = 0;
	c->notes = NULL;

	/* Numbers: customers mostly from the tenant's own country. */
	other = h;
	if (rng_chance(r, 0.08))
		other = &world_homes()[rng_below(r, NHOMES)];
	switch (c->type) {
	case CT_INBOUND:
		fmt_e164(c->caller, other, r);
		strcpy(c->callee, tn->did[rng_below(r, (uint64_t)tn->ndid)]);
		c->pdd = (int)delay(r, 0.35, 0.5, 10);
		break;
	case CT_OUTBOUND:
		strcpy(c->caller, tn->did[rng_below(r, (uint64_t)tn->ndid)]);
		fmt_e164(c->callee, other, r);
		c->pdd = (int)delay(r, 1.8, 0.5, 20);
		break;
	default:
		strcpy(c->caller, tn->did[rng_below(r, (uint64_t)tn->ndid)]);
		strcpy(c->callee, tn->did[rng_below(r, (uint64_t)tn->ndid)]);
		c->pdd = (int)delay(r, 0.15, 0.4, 5);
		break;
	}
	if (c->status == ST_FAILED && rng_chance(r, 0.3))
		c->pdd = (int)delay(r, 4, 0.6, 30);
	if (c->type != CT_INTERNAL) {
		/* Bigger queues take more calls. */
		double u = rng_unit(r);

		c->queue = tn->queue0 + 1 + (uint32_t)(u * u * tn->nqueue);
	}

	setup = c->pdd;
	if (c->type == CT_INBOUND)
		setup += delay(r, 18, 0.6, 300);
	switch (c->status) {
	case ST_ANSWERED:
		if (c->type == CT_INBOUND)
			ring = delay(r, 35, 1.1, 1800);
		else if (c->type == CT_OUTBOUND)
			ring = delay(r, 14, 0.5, 60);
		else
			ring = delay(r, 6, 0.4, 30);
		c->answer = t + setup + ring;
		c->end = c->answer + delay(r, c->type == CT_INTERNAL ? 90 :
		    c->type == CT_OUTBOUND ? 150 : 210, 0.9, 10800);
		break;
	case ST_ABANDONED:
		c->end = t + setup + delay(r, 45, 1.0, 1800);
		break;
	case ST_NO_ANSWER:
		c->end = t + setup + delay(r, 30, 0.3, 90);
		break;
	case ST_BUSY:
		c->end = t + setup + round_ms(rng_between(r, 1, 4) * 1000);
		break;
	default:
		c->end = t + setup + round_ms(rng_between(r, 0.2, 6) * 1000);
		break;
	}

	switch (c->status) {
	case ST_ANSWERED:
		c->cause = rng_chance(r, 0.94) ? 16 :
		    rng_chance(r, 0.66) ? 31 : 41;
		break;
	case ST_NO_ANSWER:
		c->cause = rng_chance(r, 0.8) ? 19 : 18;
		break;
	case ST_BUSY:
		c->cause = 17;
		break;
	case ST_FAILED:
		c->cause = fail_causes[rng_pick(r, fail_causes_w,
		    NELEM(fail_causes))];
		break;
	default:
		c->cause = c->type == CT_OUTBOUND && rng_chance(r, 0.3) ?
		    102 : 16;
		break;
	}

	if (tn->ncamp > 0 && ((c->type == CT_OUTBOUND &&
	    rng_chance(r, 0.9)) || (c->type == CT_INBOUND &&
	    rng_chance(r, 0.15))))
		c->campaign = w->camp[tn->camp[rng_below(r, tn->ncamp)]].id;
	c->region = tenant_region(tn, t);

	if (c->status == ST_ANSWERED) {
		c->agent = tn->agent0 + 1 + (uint32_t)rng_below(r, tn->nagent);
		if (c->type == CT_INBOUND)
			c->disposition = disp_in[rng_pick(r, disp_in_w,
			    NELEM(disp_in))];
		else if (c->type == CT_OUTBOUND)
			c->disposition = disp_out[rng_pick(r, disp_out_w,
			    NELEM(disp_out))];
		else
			c->disposition = disp_int[rng_below(r, 2)];
		switch (rng_below(r, 20)) {
		case 0: case 1: case 2:
			c->codec = "G722";
			break;
		case 3: case 4: case 5: case 6: case 7: case 8:
			c->codec = "OPUS";
			break;
		default:
			c->codec = h->alaw ? "PCMA" : "PCMU";
			break;
		}
		mos = rng_chance(r, 0.06) ? rng_between(r, 1.8, 3.6) :
		    4.15 + 0.2 * rng_normal(r);
		c->mos = (int)round_ms((mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos) *
		    100);
		c->wrapup = (int)(delay(r, 30, 0.7, 900) / 1000);
		c->has_key = 1;
		if (rng_chance(r, 0.05))
			c->notes = notes[rng_below(r, NELEM(notes))];
	}
	/* Distinct tags in list order: selection sampling. */
	need = rng_pick(r, ntags_w, NELEM(ntags_w));
	c->ntag = 0;
	for (i = 0; i < NELEM(tags) && need > 0; i++) {
		if (rng_below(r, NELEM(tags) - i) < need) {
			c->tag[c->ntag++] = tags[i];
			need--;
		}
	}
}

static void
fmt_call(struct emit *e, const void *rec)
{
	const struct call *c = rec;
	char agent[16], queue[16];

	em_str(e, F_CALL_ID, c->id, 36);
	em_strz(e, F_TENANT_ID, c->t->id);
	em_strz(e, F_CALL_TYPE, call_types[c->type]);
	em_time(e, F_START, c->start);
	if (c->answer >= 0)
		em_time(e, F_ANSWER, c->answer);
	else
		em_null(e, F_ANSWER);
	em_time(e, F_END, c->end);
	em_int(e, F_DURATION, (c->end - c->start + 500) / 1000);
	em_int(e, F_BILLSEC, c->answer >= 0 ?
	    (c->end - c->answer + 500) / 1000 : 0);
	if (c->agent > 0) {
		fmt_id(agent, 'a', c->agent, 5);
		em_strz(e, F_AGENT, agent);
	} else {
		em_null(e, F_AGENT);
	}
	if (c->queue > 0) {
		fmt_id(queue, 'q', c->queue, 4);
		em_strz(e, F_QUEUE, queue);
	} else {
		em_null(e, F_QUEUE);
	}
	em_strz(e, F_CALLER, c->caller);
	em_strz(e, F_CALLEE, c->callee);
	em_strz(e, F_STATUS, statuses[c->status]);
	em_strz(e, F_DISPOSITION, c->disposition);
	em_int(e, F_CAUSE, c->cause);
	em_strz(e, F_RECORDING, c->has_key ? c->key : NULL);
	em_obj(e, F_META);
	em_strz(e, F_CAMPAIGN, c->campaign);
	em_strz(e, F_REGION, c->region);
	em_strz(e, F_CODEC, c->codec);
	if (c->mos >= 0)
		em_fixed(e, F_MOS, c->mos, 2);
	else
		em_null(e, F_MOS);
	em_int(e, F_PDD, c->pdd);
	if (c->wrapup >= 0)
		em_int(e, F_WRAPUP, c->wrapup);
	else
		em_null(e, F_WRAPUP);
	em_list(e, F_TAGS, c->tag, (size_t)c->ntag);
	if (c->notes != NULL)
		em_strz(e, F_NOTES, c->notes);
	else
		em_absent(e, F_NOTES);
	em_obj_end(e);
}

void
gen_calls(struct gen *g)
{
	struct diurnal d;
	struct sampler sm;
	struct daycache dc;
	struct call c;
	struct rng r;
	uint64_t i;
	int64_t t;

	rng_init(&r, g->seed, ST_CALLS, 0);
	diurnal_init(&d, &g->world, CURVE_CALLS, 0);
	daycache_init(&dc);
	if (g->rate <= 0)
		sampler_init(&sm, &d, g->start, g->span, g->count);
	sink_start(&g->sink, g, fields, NFIELDS, 1,
	    g->unbounded ? 0 : g->count);
	for (i = 0; (g->unbounded || i < g->count) && !sink_stopped(); i++) {
		t = g->rate > 0 ? sink_time(&g->sink) :
		    sampler_time(&sm, i, rng_unit(&r));
		make_call(&r, &d, &g->world, &c, t);
		if (c.has_key)
			fmt_recording_key(c.key, c.t->alias, c.id, c.start,
			    &dc);
		sink_record(&g->sink, fmt_call, &c, 0, NULL);
	}
	sink_finish(&g->sink);
	if (g->rate <= 0)
		sampler_free(&sm);
}
