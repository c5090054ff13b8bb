/*
 * SMS campaign events: "sent", delivery receipts ("delivery") and link
 * clicks ("click"), of the same campaigns and messages.
 *
 * Each message is planned on its own (its random stream is seeded by the
 * message number), with every event it will cause and the time each
 * arrives.  Events are written in arrival order through a heap, so a
 * click three days after sending comes out three days later in the
 * stream.  The single-stream kinds run the same plans and keep one type
 * of event, which makes sms-sent + sms-delivery + sms-click the same
 * multiset of lines as sms.
 *
 * What a plan holds, roughly: 92% of messages delivered, the rest failed
 * (with a carrier error code) or expired; ~3% first fail and are then
 * delivered on retry, and then the failure receipt often arrives after
 * the delivery; ~1.5% get a second receipt of the same status; ~2% of
 * receipts are reported late; 6-16% (by campaign) of delivered messages
 * are clicked, a quarter of those more than once, and a tenth of first
 * clicks come one to ten days later; 0.5% of events are delivered twice,
 * byte for byte (a webhook retried).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#include "gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAXEV 24
#define CACHE 256

enum { EV_SENT, EV_DELIVERY, EV_CLICK };
enum { DLV_DELIVERED, DLV_FAILED, DLV_EXPIRED };

enum {
	F_EVENT, F_MESSAGE, F_CAMPAIGN, F_TENANT, F_RECIPIENT, F_SENDER,
	F_SENT_TIME, F_LINK, F_URL, F_SEGMENTS, F_STATUS, F_ERROR,
	F_RECEIPT_TIME, F_CLICK_TIME, F_UA, F_IP, NFIELDS
};

/* Field sets: which events carry a field. */
#define S_SENT	1
#define S_DLV	2
#define S_CLICK	4
#define S_ALL	7
#define REQ_ID	(FF_MUST | FF_PLAIN | FF_ID)

static const struct field fields[NFIELDS] = {
	FIELD("event", "event", FT_STR, FF_MUST | FF_PLAIN | FF_ENUM, S_ALL,
	    -1, NULL),
	FIELD("message_id", "message_id", FT_STR, REQ_ID, S_ALL, -1, NULL),
	FIELD("campaign_id", "campaign_id", FT_STR, REQ_ID, S_ALL, -1, NULL),
	FIELD("tenant_id", "tenant_id", FT_STR, REQ_ID, S_ALL, -1, NULL),
	FIELD("recipient", "recipient", FT_STR, REQ_ID, S_SENT, -1, NULL),
	FIELD("sender", "sender", FT_STR, FF_MUST | FF_PLAIN, S_SENT, -1,
	    NULL),
	FIELD("sent_time", "sent_time", FT_TIME, FF_MUST, S_SENT, -1, NULL),
	FIELD("link_id", "link_id", FT_STR, FF_REQ | FF_PLAIN | FF_ID,
	    S_SENT | S_CLICK, -1,
	    NULL),
	FIELD("url", "url", FT_STR, FF_REQ | FF_PLAIN, S_SENT, -1, NULL),
	FIELD("segments", "segments", FT_INT, FF_MUST, S_SENT, -1, "0"),
	FIELD("status", "status", FT_STR, FF_MUST | FF_PLAIN | FF_ENUM, S_DLV,
	    -1, NULL),
	FIELD("error_code", "error_code", FT_INT, FF_REQ, S_DLV, -1, NULL),
	FIELD("receipt_time", "receipt_time", FT_TIME, FF_MUST, S_DLV, -1,
	    NULL),
	FIELD("click_time", "click_time", FT_TIME, FF_MUST, S_CLICK, -1,
	    NULL),
	FIELD("user_agent", "user_agent", FT_STR, 0, S_CLICK, -1, NULL),
	FIELD("ip", "ip", FT_STR, FF_PLAIN, S_CLICK, -1, NULL),
};

static const char *const event_names[] = { "sent", "delivery", "click" };
static const char *const dlv_names[] = { "delivered", "failed", "expired" };

/* Carrier error codes of failed messages (Twilio's numbering). */
static const int fail_codes[] = { 30003, 30005, 30006, 30007, 30008 };
static const unsigned short fail_codes_w[] = { 35, 20, 20, 15, 10 };

static const char *const agents[] = {
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
	    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
	    "Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
	    "(KHTML, like Gecko) Chrome/119.0.6045.163 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 "
	    "(KHTML, like Gecko) Chrome/118.0.5993.111 Mobile Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) "
	    "AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/119.0.6045.169 "
	    "Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-A525F) "
	    "AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 "
	    "Chrome/115.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	    "(KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	"WhatsApp/2.23.24.76 A",
	"facebookexternalhit/1.1 "
	    "(+http://www.facebook.com/externalhit_uatext.php)",
};
static const unsigned short agents_w[] = { 34, 22, 12, 8, 10, 6, 5, 3 };

static const unsigned char ipv4_first[] = {
	23, 31, 37, 45, 51, 62, 66, 73, 81, 86, 92, 98, 101, 104, 109, 122,
	147, 151, 176, 185, 188, 194, 203, 213
};
static const unsigned ipv6_first[] = {
	0x2a02, 0x2a01, 0x2001, 0x2600, 0x2603, 0x2406
};

static const unsigned short clicks_w[] = { 75, 15, 6, 2, 1, 1 };
static const unsigned short segments_w[] = { 80, 17, 3 };

/* Events per message of each type, to space messages under --rate. */
static const double per_message[] = { 1.005, 1.06, 0.17 };

static const char base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct sms_ev {
	unsigned char	type;
	unsigned char	status;
	signed char	orig;	/* the event this one repeats, or -1 */
	unsigned char	ua;
	int		error;	/* 0: null */
	int64_t		at;	/* event time */
	int64_t		arrive;	/* when it reaches the stream */
	char		ip[40];
};

struct msg {
	uint64_t		 j;
	int			 used;
	int64_t			 sent;
	const struct campaign	*c;
	const struct tenant	*t;
	char			 id[40];
	char			 recipient[24];
	char			 link[8];
	char			 url[96];
	int			 segments;
	int			 nev;
	struct sms_ev		 ev[MAXEV];
};

/* A heap entry: enough to find the event again. */
struct hent {
	int64_t		arrive;
	uint64_t	j;
	int64_t		sent;
	uint32_t	slot;	/* pairs an event with its repeat; 0: none */
	unsigned char	ev;
};

/* What a repeated event needs from its original. */
struct slot {
	uint64_t	line;
	int64_t		at;
	int		valid;
	uint32_t	next_free;
};

struct sms {
	struct gen	*g;
	unsigned	 mask;	/* event types kept, 1 << EV_* */
	struct diurnal	 d;
	struct diurnal	 d_again;	/* for plans made again */
	struct msg	*cache;
	struct hent	*heap;
	size_t		 nheap, heapcap;
	struct slot	*slots;
	uint32_t	 nslots, slotcap, free_slot;
};

/* A record for the formatter: the message, the event, its time. */
struct out_ev {
	const struct msg	*m;
	const struct sms_ev	*ev;
	int64_t			 at;
};

static int64_t delay(struct rng *r, double median, double sigma,
    double cap);
static void fmt_ip(char *d, struct rng *r);
static void plan(struct sms *s, struct diurnal *d, struct rng *r,
    int64_t sent, struct msg *m);
static const struct msg *plan_of(struct sms *s, uint64_t j, int64_t sent);
static int before(const struct hent *a, const struct hent *b);
static void push(struct sms *s, const struct hent *h);
static struct hent pop(struct sms *s);
static uint32_t new_slot(struct sms *s);
static void push_message(struct sms *s, const struct msg *m);
static int emit(struct sms *s, const struct hent *h);
static void fmt_event(struct emit *e, const void *rec);
static uint64_t count_events(struct sms *s, struct sampler *sm,
    int64_t gap);

static int64_t
delay(struct rng *r, double median, double sigma, double cap)
{
	double x = rng_lognormal(r, median, sigma);

	return round_ms((x < cap ? x : cap) * 1000);
}

static void
fmt_ip(char *d, struct rng *r)
{
	int i;

	if (rng_chance(r, 0.12)) {
		d += sprintf(d, "%x", ipv6_first[rng_below(r,
		    NELEM(ipv6_first))]);
		for (i = 0; i < 7; i++)
			d += sprintf(d, ":%x", (unsigned)rng_below(r, 65536));
		return;
	}
	d = fmt_u64(d, ipv4_first[rng_below(r, NELEM(ipv4_first))]);
	for (i = 0; i < 3; i++) {
		*d++ = '.';
		d = fmt_u64(d, 1 + rng_below(r, 254));
	}
	*d = '\0';
}

/*
 * The message and all it causes.  The first draw of the message's stream
 * placed it in time (the caller's sampler); everything else is here.
 */
static void
plan(struct sms *s, struct diurnal *d, struct rng *r, int64_t sent,
    struct msg *m)
{
	const struct world *w = &s->g->world;
	const struct home *h;
	struct sms_ev *ev, *dl;
	double pfail, u;
	int i, n, nclick, first, same, dlv;
	int64_t at;
	char *p;

	m->sent = sent;
	m->c = &w->camp[diurnal_pick(d, r, sent)];
	m->t = &w->tenant[m->c->tenant];
	h = m->t->home;
	memcpy(m->id, "SM", 2);
	p = fmt_hex(m->id + 2, rng_next(r), 16);
	fmt_hex(p, rng_next(r), 16)[0] = '\0';
	fmt_e164(m->recipient, rng_chance(r, 0.02) ?
	    &world_homes()[rng_below(r, NHOMES)] : h, r);
	for (i = 0; i < 7; i++)
		m->link[i] = base62[rng_below(r, 62)];
	m->link[7] = '\0';
	p = stpcpy(m->url, "https://");
	p = stpcpy(p, m->t->alias);
	p = stpcpy(p, ".example/l/");
	stpcpy(p, m->link);
	m->segments = 1 + (int)rng_pick(r, segments_w, NELEM(segments_w));

	ev = m->ev;
	memset(&ev[0], 0, sizeof(ev[0]));
	ev[0].type = EV_SENT;
	ev[0].orig = -1;
	ev[0].at = ev[0].arrive = sent;
	n = 1;

	/* The delivery receipt. */
	dl = &ev[n++];
	memset(dl, 0, sizeof(*dl));
	dl->type = EV_DELIVERY;
	dl->orig = -1;
	pfail = 0.08 * m->c->fail;
	if (pfail > 0.4)
		pfail = 0.4;
	u = rng_unit(r);
	if (u < pfail * 0.75) {
		dl->status = DLV_FAILED;
		dl->error = fail_codes[rng_pick(r, fail_codes_w,
		    NELEM(fail_codes))];
		dl->at = sent + delay(r, 8, 1.0, 3600);
	} else if (u < pfail) {
		dl->status = DLV_EXPIRED;
		dl->at = sent + delay(r, 6 * 3600, 0.5, 72 * 3600);
	} else {
		dl->status = DLV_DELIVERED;
		dl->at = sent + (rng_chance(r, 0.03) ?
		    delay(r, 600, 1.0, 48 * 3600) : delay(r, 4, 0.8, 600));
	}
	dl->arrive = dl->at;
	if (rng_chance(r, 0.02))
		dl->arrive += delay(r, 60, 1.0, 3600);
	dlv = dl->status == DLV_DELIVERED;
	if (!dlv && rng_chance(r, 0.375)) {
		/* Retried and delivered; the failure is often reported last. */
		ev[n] = *dl;
		ev[n].status = DLV_DELIVERED;
		ev[n].error = 0;
		ev[n].at = dl->at + delay(r, 90, 1.0, 6 * 3600);
		ev[n].arrive = ev[n].at;
		if (rng_chance(r, 0.4) && dl->arrive <= ev[n].arrive)
			dl->arrive = ev[n].arrive + delay(r, 20, 1.0, 3600);
		dl = &ev[n++];
		dlv = 1;
	}
	if (rng_chance(r, 0.015)) {
		/* The carrier reports the final status twice. */
		ev[n] = *dl;
		ev[n].at = dl->at + delay(r, 30, 1.0, 3600);
		ev[n].arrive = ev[n].at;
		n++;
	}

	if (dlv && rng_chance(r, m->c->ctr)) {
		nclick = 1 + (int)rng_pick(r, clicks_w, NELEM(clicks_w));
		u = rng_unit(r);
		if (u < 0.65)
			at = dl->at + delay(r, 240, 1.0, 86400);
		else if (u < 0.9)
			at = dl->at + delay(r, 3 * 3600, 0.8, 3 * 86400);
		else
			at = dl->at + round_ms(rng_between(r, 1, 10) * 86400 *
			    1000);
		first = n;
		for (i = 0; i < nclick; i++) {
			ev[n].type = EV_CLICK;
			ev[n].status = 0;
			ev[n].error = 0;
			ev[n].orig = -1;
			same = i > 0 && rng_chance(r, 0.8);
			ev[n].ua = same ? ev[first].ua :
			    (unsigned char)rng_pick(r, agents_w, NELEM(agents));
			if (i > 0 && rng_chance(r, 0.85))
				memcpy(ev[n].ip, ev[first].ip, sizeof(ev[n].ip));
			else
				fmt_ip(ev[n].ip, r);
			ev[n].at = ev[n].arrive = at;
			at += delay(r, 120, 1.5, 2 * 86400);
			n++;
		}
	}

	/* Repeats: the same bytes again, a little later. */
	for (i = 0, first = n; i < first; i++) {
		if (rng_chance(r, 0.005)) {
			ev[n] = ev[i];
			ev[n].orig = (signed char)i;
			ev[n].arrive = ev[i].arrive + delay(r, 15, 1.2, 3600);
			n++;
		}
	}
	m->nev = n;
}

/* Plans are made again for late events, from the message's own seed. */
static const struct msg *
plan_of(struct sms *s, uint64_t j, int64_t sent)
{
	struct msg *m = &s->cache[j % CACHE];
	struct rng r;

	if (m->used && m->j == j)
		return m;
	rng_init(&r, s->g->seed, ST_SMS, j);
	rng_unit(&r);
	plan(s, &s->d_again, &r, sent, m);
	m->j = j;
	m->used = 1;
	return m;
}

static int
before(const struct hent *a, const struct hent *b)
{
	if (a->arrive != b->arrive)
		return a->arrive < b->arrive;
	if (a->j != b->j)
		return a->j < b->j;
	return a->ev < b->ev;
}

static void
push(struct sms *s, const struct hent *h)
{
	size_t i, up;

	if (s->nheap == s->heapcap) {
		s->heapcap = s->heapcap ? 2 * s->heapcap : 1024;
		s->heap = cdr_xreallocarray(s->heap, s->heapcap,
		    sizeof(*s->heap));
	}
	for (i = s->nheap++; i > 0; i = up) {
		up = (i - 1) / 2;
		if (!before(h, &s->heap[up]))
			break;
		s->heap[i] = s->heap[up];
	}
	s->heap[i] = *h;
}

static struct hent
pop(struct sms *s)
{
	struct hent top = s->heap[0], last = s->heap[--s->nheap];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

static uint32_t
new_slot(struct sms *s)
{
	uint32_t k;

	if (s->free_slot != 0) {
		k = s->free_slot;
		s->free_slot = s->slots[k].next_free;
		return k;
	}
	if (s->nslots == s->slotcap) {
		s->slotcap = s->slotcap ? 2 * s->slotcap : 256;
		s->slots = cdr_xreallocarray(s->slots, s->slotcap,
		    sizeof(*s->slots));
	}
	/* Slot 0 means none. */
	if (s->nslots == 0)
		s->nslots = 1;
	return s->nslots++;
}

static void
push_message(struct sms *s, const struct msg *m)
{
	uint32_t slot[MAXEV] = { 0 };
	struct hent h;
	int i;

	for (i = 0; i < m->nev; i++) {
		if (!(s->mask & (1u << m->ev[i].type)))
			continue;
		if (m->ev[i].orig >= 0)
			slot[i] = slot[m->ev[i].orig] = new_slot(s);
	}
	for (i = 0; i < m->nev; i++) {
		if (!(s->mask & (1u << m->ev[i].type)))
			continue;
		h.arrive = m->ev[i].arrive;
		h.j = m->j;
		h.sent = m->sent;
		h.slot = slot[i];
		h.ev = (unsigned char)i;
		push(s, &h);
	}
}

/*
 * Writes one event.  Under --rate its time is the time it is written,
 * except that a repeat is the same bytes as its original.
 */
static int
emit(struct sms *s, const struct hent *h)
{
	const struct msg *m = plan_of(s, h->j, h->sent);
	const struct sms_ev *ev = &m->ev[h->ev];
	struct slot *sl = h->slot ? &s->slots[h->slot] : NULL;
	struct out_ev o = { m, ev, ev->at };
	uint64_t of = 0, line;
	int valid;

	if (ev->orig >= 0) {
		if (s->g->rate > 0)
			o.at = sl->at;
		if (sl->valid)
			of = sl->line;
	} else if (s->g->rate > 0) {
		o.at = sink_time(&s->g->sink);
	}
	line = sink_record(&s->g->sink, fmt_event, &o, of, &valid);
	if (line == 0)
		return 0;
	if (sl != NULL && ev->orig < 0) {
		sl->line = line;
		sl->at = o.at;
		sl->valid = valid;
	} else if (sl != NULL) {
		sl->next_free = s->free_slot;
		s->free_slot = h->slot;
	}
	return 1;
}

static void
fmt_event(struct emit *e, const void *rec)
{
	const struct out_ev *o = rec;
	const struct msg *m = o->m;
	int type = o->ev->type;

	em_strz(e, F_EVENT, event_names[type]);
	em_strz(e, F_MESSAGE, m->id);
	em_strz(e, F_CAMPAIGN, m->c->id);
	em_strz(e, F_TENANT, m->t->id);
	if (type == EV_SENT) {
		em_strz(e, F_RECIPIENT, m->recipient);
		em_strz(e, F_SENDER, m->c->sender);
		em_time(e, F_SENT_TIME, o->at);
		em_strz(e, F_LINK, m->link);
		em_strz(e, F_URL, m->url);
		em_int(e, F_SEGMENTS, m->segments);
	} else {
		em_absent(e, F_RECIPIENT);
		em_absent(e, F_SENDER);
		em_absent(e, F_SENT_TIME);
		if (type == EV_CLICK)
			em_strz(e, F_LINK, m->link);
		else
			em_absent(e, F_LINK);
		em_absent(e, F_URL);
		em_absent(e, F_SEGMENTS);
	}
	if (type == EV_DELIVERY) {
		em_strz(e, F_STATUS, dlv_names[o->ev->status]);
		if (o->ev->error != 0)
			em_int(e, F_ERROR, o->ev->error);
		else
			em_null(e, F_ERROR);
		em_time(e, F_RECEIPT_TIME, o->at);
	} else {
		em_absent(e, F_STATUS);
		em_absent(e, F_ERROR);
		em_absent(e, F_RECEIPT_TIME);
	}
	if (type == EV_CLICK) {
		em_time(e, F_CLICK_TIME, o->at);
		em_strz(e, F_UA, agents[o->ev->ua]);
		em_strz(e, F_IP, o->ev->ip);
	} else {
		em_absent(e, F_CLICK_TIME);
		em_absent(e, F_UA);
		em_absent(e, F_IP);
	}
}

/*
 * The number of lines to come, which exact corruption counts need: the
 * plans once more, without writing.
 */
static uint64_t
count_events(struct sms *s, struct sampler *sm, int64_t gap)
{
	struct msg *m = cdr_xmalloc(sizeof(*m));
	uint64_t j, n = 0;
	struct rng r;
	int64_t sent;
	double u;
	int i;

	for (j = 0; j < s->g->count; j++) {
		rng_init(&r, s->g->seed, ST_SMS, j);
		u = rng_unit(&r);
		sent = sm != NULL ? sampler_time(sm, j, u) :
		    s->g->start + (int64_t)j * gap;
		plan(s, &s->d_again, &r, sent, m);
		for (i = 0; i < m->nev; i++)
			n += (s->mask >> m->ev[i].type) & 1;
	}
	if (sm != NULL)
		sampler_rewind(sm);
	free(m);
	return n;
}

void
gen_sms(struct gen *g)
{
	struct sms s;
	struct sampler sm;
	struct hent h;
	struct msg *m;
	struct rng r;
	uint64_t j, nbase = 0;
	int64_t sent, gap = 0;
	double u, per = 0;
	int i;

	memset(&s, 0, sizeof(s));
	s.g = g;
	s.mask = g->kind == KIND_SMS_SENT ? 1u << EV_SENT :
	    g->kind == KIND_SMS_DELIVERY ? 1u << EV_DELIVERY :
	    g->kind == KIND_SMS_CLICK ? 1u << EV_CLICK : 7;
	diurnal_init(&s.d, &g->world, CURVE_SMS, 1);
	diurnal_init(&s.d_again, &g->world, CURVE_SMS, 1);
	s.cache = cdr_xcalloc(CACHE, sizeof(*s.cache));
	if (g->rate > 0) {
		/* Messages spaced so that events come at about the rate. */
		for (i = 0; i < 3; i++)
			per += (s.mask >> i & 1) * per_message[i];
		gap = (int64_t)(per / g->rate * 1000);
		if (gap < 1)
			gap = 1;
	} else {
		sampler_init(&sm, &s.d, g->start, g->span, g->count);
	}
	if (!g->unbounded && (g->error_rate > 0 || g->dup_rate > 0))
		nbase = count_events(&s, g->rate > 0 ? NULL : &sm, gap);
	sink_start(&g->sink, g, fields, NFIELDS,
	    g->kind == KIND_SMS_SENT ? S_SENT :
	    g->kind == KIND_SMS_DELIVERY ? S_DLV :
	    g->kind == KIND_SMS_CLICK ? S_CLICK : S_ALL, nbase);

	for (j = 0; (g->unbounded || j < g->count) && !sink_stopped(); j++) {
		rng_init(&r, g->seed, ST_SMS, j);
		u = rng_unit(&r);
		sent = g->rate > 0 ? g->start + (int64_t)j * gap :
		    sampler_time(&sm, j, u);
		m = &s.cache[j % CACHE];
		plan(&s, &s.d, &r, sent, m);
		m->j = j;
		m->used = 1;
		push_message(&s, m);
		while (s.nheap > 0 && s.heap[0].arrive <= sent) {
			h = pop(&s);
			if (!emit(&s, &h))
				break;
		}
	}
	while (s.nheap > 0 && !sink_stopped()) {
		h = pop(&s);
		if (!emit(&s, &h))
			break;
	}
	sink_finish(&g->sink);
	if (g->rate <= 0)
		sampler_free(&sm);
	free(s.cache);
	free(s.heap);
	free(s.slots);
}
