/*
 * The world the records talk about, and when things happen in it.
 *
 * Each tenant has a home country, which gives its phone numbers, its AWS
 * region, its company suffix, the G.711 law of its calls, the style of
 * its SMS sender, and the time zone its busy hours follow.  Offsets are
 * standard time without DST, so output does not depend on the system's
 * time zone database.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#include "gen.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* National numbers: N is a digit 2-9, # any digit. */
static const char *const pat_us_east[] = {
	"212N######", "646N######", "917N######", "617N######", "305N######",
	"404N######", "215N######", NULL
};
static const char *const pat_us_central[] = {
	"312N######", "214N######", "713N######", "612N######", "314N######",
	NULL
};
static const char *const pat_us_west[] = {
	"415N######", "650N######", "408N######", "206N######", "310N######",
	"702N######", NULL
};
static const char *const pat_ca[] = {
	"416N######", "647N######", "514N######", "604N######", NULL
};
static const char *const pat_uk[] = {
	"207#######", "208#######", "161#######", "74########", "75########",
	"77########", "78########", "79########", NULL
};
static const char *const pat_de[] = {
	"30########", "89#######", "40########", "151########", "160########",
	"170########", "176########", NULL
};
static const char *const pat_fr[] = {
	"1########", "6########", "7########", "4########", NULL
};
static const char *const pat_in[] = {
	"9#########", "8#########", "7#########", "22########", "80########",
	NULL
};
static const char *const pat_au[] = {
	"4########", "2########", "3########", NULL
};
static const char *const pat_jp[] = {
	"90########", "80########", "3########", "6########", NULL
};
static const char *const pat_sg[] = { "8#######", "9#######", "6#######", NULL };
static const char *const pat_br[] = { "119########", "219########", NULL };
static const char *const pat_za[] = {
	"82#######", "83#######", "72#######", "21#######", "11#######", NULL
};
static const char *const pat_mx[] = {
	"55########", "33########", "81########", NULL
};

static const struct home homes[NHOMES] = {
	{ "1", -300, pat_us_east, { "us-east-1", "us-east-2", "us-west-2" },
	  { "Inc.", "LLC" }, 18, 0, SENDER_SHORT },
	{ "1", -360, pat_us_central, { "us-east-2", "us-east-1", "us-west-2" },
	  { "Inc.", "Corp." }, 10, 0, SENDER_SHORT },
	{ "1", -480, pat_us_west, { "us-west-2", "us-west-1", "us-east-1" },
	  { "Inc.", "LLC" }, 12, 0, SENDER_SHORT },
	{ "1", -300, pat_ca, { "ca-central-1", "us-east-1", "us-east-2" },
	  { "Inc.", "Ltd." }, 5, 0, SENDER_SHORT },
	{ "44", 0, pat_uk, { "eu-west-2", "eu-west-1", "eu-central-1" },
	  { "Ltd", "plc" }, 10, 1, SENDER_ALPHA },
	{ "49", 60, pat_de, { "eu-central-1", "eu-west-1", "eu-central-2" },
	  { "GmbH", "AG" }, 8, 1, SENDER_ALPHA },
	{ "33", 60, pat_fr, { "eu-west-3", "eu-central-1", "eu-west-1" },
	  { "SAS", "SA" }, 6, 1, SENDER_ALPHA },
	{ "91", 330, pat_in, { "ap-south-1", "ap-south-2", "ap-southeast-1" },
	  { "Pvt Ltd", "Ltd" }, 8, 1, SENDER_HEADER },
	{ "61", 600, pat_au,
	  { "ap-southeast-2", "ap-southeast-4", "ap-southeast-1" },
	  { "Pty Ltd", "Ltd" }, 5, 1, SENDER_ALPHA },
	{ "81", 540, pat_jp,
	  { "ap-northeast-1", "ap-northeast-3", "ap-northeast-2" },
	  { "K.K.", "G.K." }, 4, 0, SENDER_LONG },
	{ "65", 480, pat_sg,
	  { "ap-southeast-1", "ap-southeast-3", "ap-northeast-1" },
	  { "Pte Ltd", "Ltd" }, 3, 1, SENDER_ALPHA },
	{ "55", -180, pat_br, { "sa-east-1", "us-east-1", "us-east-2" },
	  { "Ltda.", "S.A." }, 5, 1, SENDER_LONG },
	{ "27", 120, pat_za, { "af-south-1", "eu-west-2", "eu-west-1" },
	  { "(Pty) Ltd", "Ltd" }, 3, 1, SENDER_ALPHA },
	{ "52", -360, pat_mx, { "us-east-2", "us-east-1", "us-west-2" },
	  { "S.A. de C.V.", "S. de R.L." }, 3, 0, SENDER_LONG },
};

/*
 * Company names, some with accents, other scripts, an emoji, quotes and a
 * comma, because names like these break CSV and JSON handling downstream.
 * The slug names the Amazon Connect instance and is plain ASCII.
 */
static const struct {
	const char *name, *slug;
} brands[] = {
	{ "Northwind", "northwind" }, { "Contoso", "contoso" },
	{ "Globex", "globex" }, { "Initech", "initech" },
	{ "Umbrella", "umbrella" }, { "Acme", "acme" }, { "Hooli", "hooli" },
	{ "Vandelay", "vandelay" }, { "Tyrell", "tyrell" },
	{ "Cyberdyne", "cyberdyne" }, { "Aperture", "aperture" },
	{ "Soylent", "soylent" }, { "Monarch", "monarch" },
	{ "Oscorp", "oscorp" }, { "Wonka", "wonka" },
	{ "Gringotts", "gringotts" }, { "Bluth", "bluth" },
	{ "Dunder Mifflin", "dunder-mifflin" }, { "Pied Piper", "pied-piper" },
	{ "Massive Dynamic", "massive-dynamic" },
	{ "Caf\xc3\xa9 Lumi\xc3\xa8re", "cafe-lumiere" },
	{ "M\xc3\xbcller & S\xc3\xb6hne", "mueller-soehne" },
	{ "Z\xc3\xbcrich R\xc3\xbc" "ck", "zuerich-rueck" },
	{ "S\xc3\xa3o Jorge", "sao-jorge" },
	{ "\xc5\x81\xc3\xb3" "d\xc5\xba Connect", "lodz-connect" },
	{ "Nordlys \xc3\x86r\xc3\xb8", "nordlys-aero" },
	{ "Sakura \xe6\xa1\x9c", "sakura" },
	{ "O'Brien \"Quality\"", "obrien-quality" },
	{ "Smith, Jones & Co", "smith-jones" },
	{ "\xc3\x91" "and\xc3\xba", "nandu" },
	{ "\xc3\x89lan Vital", "elan-vital" },
	{ "G\xc3\xb6teborg", "goteborg" },
	{ "\xd0\x94\xd0\xb5\xd0\xbb\xd1\x8c\xd1\x82\xd0\xb0", "delta" },
	{ "Blue Sky \xf0\x9f\x8c\xa4", "blue-sky" },
	{ "Tane Mahuta", "tane-mahuta" },
};

static const struct {
	const char *name, *slug, *renamed;
} sectors[] = {
	{ "Telecom", "telecom", "Communications" },
	{ "Health", "health", "Healthcare" },
	{ "Energy", "energy", "Power" },
	{ "Insurance", "insurance", "Assurance" },
	{ "Bank", "bank", "Financial" },
	{ "Retail", "retail", "Stores" },
	{ "Logistics", "logistics", "Freight" },
	{ "Travel", "travel", "Journeys" },
	{ "Utilities", "utilities", "Services" },
	{ "Mobile", "mobile", "Wireless" },
	{ "Care", "care", "Support" },
	{ "Media", "media", "Studios" },
};

static const char *const skills[] = {
	"sales", "support", "billing", "retention", "technical",
	"collections", "onboarding", "vip", "spanish", "french", "german",
	"claims"
};

static const unsigned short extra_versions[] = { 40, 30, 15, 10, 5 };

static const double hours_calls[24] = {
	0.05, 0.03, 0.02, 0.02, 0.03, 0.08, 0.20, 0.45, 0.80, 1.00, 1.00, 0.95,
	0.80, 0.85, 0.95, 0.95, 0.85, 0.65, 0.45, 0.35, 0.25, 0.18, 0.12, 0.08
};
/* Marketing messages are not sent at night. */
static const double hours_sms[24] = {
	0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.05, 0.30, 0.80, 1.00, 1.00,
	0.90, 0.90, 1.00, 1.00, 0.90, 0.80, 0.70, 0.50, 0.25, 0.05, 0.01, 0.01
};
/* Sunday first. */
static const double days_calls[7] = { 0.30, 1, 1, 1, 1, 1, 0.45 };
static const double days_sms[7] = { 0.40, 1, 1, 1, 1, 1, 0.60 };

static void make_name(char *d, size_t len, size_t brand,
    const char *sector_name, const char *legal, int group);
static void make_versions(struct rng *r, struct tenant *t, size_t brand,
    size_t sector, int64_t start, int64_t span);
static int by_remainder(const void *a, const void *b);
static void share_out(struct world *w, uint32_t total, int agents);
static void make_sender(char *d, const struct tenant *t, size_t brand,
    struct rng *r);
static void build_zones(struct world *w);
static double curve_at(enum curve curve, int64_t local);
static void refresh(struct diurnal *d, int64_t t);
static uint32_t pick_cum(const struct zone *z, double u);

const struct home *
world_homes(void)
{
	return homes;
}

char *
fmt_e164(char *d, const struct home *h, struct rng *r)
{
	const char *p;
	size_t n;

	for (n = 0; h->pat[n] != NULL; n++)
		continue;
	*d++ = '+';
	memcpy(d, h->cc, strlen(h->cc));
	d += strlen(h->cc);
	for (p = h->pat[rng_below(r, n)]; *p != '\0'; p++) {
		if (*p == 'N')
			*d++ = (char)('2' + rng_below(r, 8));
		else if (*p == '#')
			*d++ = (char)('0' + rng_below(r, 10));
		else
			*d++ = *p;
	}
	*d = '\0';
	return d;
}

static void
make_name(char *d, size_t len, size_t brand, const char *sector_name,
    const char *legal, int group)
{
	size_t n;

	n = strlen(brands[brand].name) + 1 + strlen(sector_name) +
	    (group ? 6 : 0) + 1 + strlen(legal) + 1;
	if (n > len)
		cdr_die(CDR_EXIT_INTERNAL, "company name too long");
	strcpy(d, brands[brand].name);
	strcat(d, " ");
	strcat(d, sector_name);
	if (group)
		strcat(d, " Group");
	strcat(d, " ");
	strcat(d, legal);
}

/*
 * Version 1 is older than the data; later ones rename the company or
 * move it to another region while the data runs, so a join must pick the
 * version in force at each record's time.
 */
static void
make_versions(struct rng *r, struct tenant *t, size_t brand, size_t sector,
    int64_t start, int64_t span)
{
	const struct home *h = t->home;
	int extra = (int)rng_pick(r, extra_versions, NELEM(extra_versions));
	int i, j, legal = (int)rng_below(r, 2), group = 0, renamed = 0;
	int region = 0, what;
	int64_t lo, at[8], x;

	t->nver = 1 + extra;
	t->ver = cdr_xcalloc((size_t)t->nver, sizeof(*t->ver));
	t->ver[0].at = start - 30 * MS_PER_DAY -
	    (int64_t)rng_below(r, (uint64_t)(700 * MS_PER_DAY));
	make_name(t->ver[0].name, sizeof(t->ver[0].name), brand,
	    sectors[sector].name, h->legal[legal], 0);
	lo = start - 60 * MS_PER_DAY;
	if (lo < t->ver[0].at + MS_PER_HOUR)
		lo = t->ver[0].at + MS_PER_HOUR;
	for (i = 0; i < extra; i++)
		at[i] = lo + (int64_t)rng_below(r, (uint64_t)(start + span - lo));
	for (i = 1; i < extra; i++) {
		for (j = i; j > 0 && at[j - 1] > at[j]; j--) {
			x = at[j];
			at[j] = at[j - 1];
			at[j - 1] = x;
		}
	}
	for (i = 1; i <= extra; i++) {
		struct version *v = &t->ver[i];

		/* Equal times would make "the latest version" ambiguous. */
		v->at = at[i - 1] > t->ver[i - 1].at ? at[i - 1] :
		    t->ver[i - 1].at + 1;
		what = (int)rng_below(r, 100);
		if (what < 65) {
			switch (rng_below(r, 3)) {
			case 0:
				legal = !legal;
				break;
			case 1:
				renamed = !renamed;
				break;
			default:
				group = !group;
				break;
			}
		}
		if (what >= 50)
			region = (region + 1 + (int)rng_below(r, 2)) % 3;
		make_name(v->name, sizeof(v->name), brand,
		    renamed ? sectors[sector].renamed : sectors[sector].name,
		    h->legal[legal], group);
		v->region = (unsigned char)region;
	}
}

struct share {
	double		frac;
	uint32_t	idx;
};

static int
by_remainder(const void *a, const void *b)
{
	const struct share *x = a, *y = b;

	if (x->frac != y->frac)
		return x->frac > y->frac ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Largest remainder by tenant weight, at least one each. */
static void
share_out(struct world *w, uint32_t total, int agents)
{
	struct share *sh;
	double sum = 0, want;
	uint32_t i, given = 0, *n;

	sh = cdr_xcalloc(w->ntenant, sizeof(*sh));
	n = cdr_xcalloc(w->ntenant, sizeof(*n));
	for (i = 0; i < w->ntenant; i++)
		sum += w->tenant[i].weight;
	for (i = 0; i < w->ntenant; i++) {
		want = 1 + (double)(total - w->ntenant) *
		    w->tenant[i].weight / sum;
		n[i] = (uint32_t)want;
		sh[i].frac = want - n[i];
		sh[i].idx = i;
		given += n[i];
	}
	qsort(sh, w->ntenant, sizeof(*sh), by_remainder);
	for (i = 0; given < total; i++, given++)
		n[sh[i].idx]++;
	for (given = 0, i = 0; i < w->ntenant; i++) {
		if (agents) {
			w->tenant[i].agent0 = given;
			w->tenant[i].nagent = n[i];
		} else {
			w->tenant[i].queue0 = given;
			w->tenant[i].nqueue = n[i];
		}
		given += n[i];
	}
	free(sh);
	free(n);
}

static void
make_sender(char *d, const struct tenant *t, size_t brand, struct rng *r)
{
	const char *s = brands[brand].slug;
	int n = 0;

	switch (t->home->sender) {
	case SENDER_SHORT:
		fmt_u64(d, 20000 + rng_below(r, 880000))[0] = '\0';
		return;
	case SENDER_LONG:
		fmt_e164(d, t->home, r);
		return;
	case SENDER_HEADER:
		/* Indian DLT headers: operator and circle, six letters. */
		memcpy(d, "VM-", 3);
		d += 3;
		for (; *s != '\0' && n < 6; s++) {
			if (*s >= 'a' && *s <= 'z')
				d[n++] = (char)(*s - 'a' + 'A');
		}
		while (n < 6)
			d[n++] = 'X';
		d[n] = '\0';
		return;
	default:
		for (; *s != '\0' && n < 11; s++) {
			if (*s >= 'a' && *s <= 'z')
				d[n++] = (char)(*s - 'a' + 'A');
		}
		d[n] = '\0';
		return;
	}
}

static void
build_zones(struct world *w)
{
	uint32_t i, k, z, c;
	struct zone *tz, *cz;

	for (z = 0; z < NHOMES; z++) {
		tz = &w->tz[z];
		cz = &w->cz[z];
		for (i = 0; i < w->ntenant; i++) {
			if (w->tenant[i].home == &homes[z])
				tz->n++;
		}
		for (c = 0; c < w->ncamp; c++) {
			if (w->tenant[w->camp[c].tenant].home == &homes[z])
				cz->n++;
		}
		tz->idx = cdr_xcalloc(tz->n, sizeof(*tz->idx));
		tz->cum = cdr_xcalloc(tz->n, sizeof(*tz->cum));
		cz->idx = cdr_xcalloc(cz->n, sizeof(*cz->idx));
		cz->cum = cdr_xcalloc(cz->n, sizeof(*cz->cum));
		for (k = 0, i = 0; i < w->ntenant; i++) {
			if (w->tenant[i].home != &homes[z])
				continue;
			tz->weight += w->tenant[i].weight;
			tz->idx[k] = i;
			tz->cum[k++] = tz->weight;
		}
		for (k = 0, c = 0; c < w->ncamp; c++) {
			if (w->tenant[w->camp[c].tenant].home != &homes[z])
				continue;
			cz->weight += w->camp[c].weight;
			cz->idx[k] = c;
			cz->cum[k++] = cz->weight;
		}
	}
}

void
world_build(struct world *w, uint64_t seed, uint32_t tenants,
    uint32_t agents, uint32_t queues, uint32_t campaigns, int64_t start,
    int64_t span)
{
	unsigned short hw[NHOMES];
	size_t nb = NELEM(brands), ns = NELEM(sectors), combos = nb * ns;
	size_t combo, brand, *tbrand;
	uint32_t i, k, lo, hi, *fill;
	double *tcum, x;
	struct tenant *t;
	struct rng r;
	char *d;

	memset(w, 0, sizeof(*w));
	rng_init(&r, seed, ST_WORLD, 0);
	for (i = 0; i < NHOMES; i++)
		hw[i] = homes[i].weight;
	w->ntenant = tenants;
	w->tenant = cdr_xcalloc(tenants, sizeof(*w->tenant));
	tbrand = cdr_xcalloc(tenants, sizeof(*tbrand));
	/* A stride prime to the number of combinations: no repeats. */
	combo = (size_t)rng_below(&r, combos);
	for (i = 0; i < tenants; i++) {
		t = &w->tenant[i];
		fmt_id(t->id, 't', i + 1, 4);
		t->home = &homes[rng_pick(&r, hw, NHOMES)];
		t->weight = rng_lognormal(&r, 1, 1.0);
		t->outbound = rng_chance(&r, 0.2) ? rng_between(&r, 0.5, 0.8) :
		    rng_between(&r, 0.1, 0.35);
		combo = (combo + 97) % combos;
		brand = combo / ns;
		tbrand[i] = brand;
		d = stpcpy(t->alias, brands[brand].slug);
		*d++ = '-';
		d = stpcpy(d, sectors[combo % ns].slug);
		if (i >= combos) {
			*d++ = '-';
			fmt_u64(d, i + 1)[0] = '\0';
		}
		t->ndid = 1 + (int)rng_below(&r, 4);
		for (k = 0; k < (uint32_t)t->ndid; k++)
			fmt_e164(t->did[k], t->home, &r);
		make_versions(&r, t, brand, combo % ns, start, span);
	}
	w->nagent = agents;
	share_out(w, agents, 1);
	w->nqueue = queues;
	share_out(w, queues, 0);
	w->skill = cdr_xcalloc(queues, sizeof(*w->skill));
	for (i = 0; i < queues; i++)
		w->skill[i] = skills[rng_below(&r, NELEM(skills))];

	/* Big tenants run more campaigns. */
	tcum = cdr_xcalloc(tenants, sizeof(*tcum));
	for (x = 0, i = 0; i < tenants; i++)
		tcum[i] = x += w->tenant[i].weight;
	w->ncamp = campaigns;
	w->camp = cdr_xcalloc(campaigns, sizeof(*w->camp));
	for (i = 0; i < campaigns; i++) {
		struct campaign *c = &w->camp[i];

		fmt_id(c->id, 'c', i + 1, 4);
		x = rng_unit(&r) * tcum[tenants - 1];
		for (lo = 0, hi = tenants - 1; lo < hi;) {
			k = lo + (hi - lo) / 2;
			if (tcum[k] > x)
				hi = k;
			else
				lo = k + 1;
		}
		k = lo;
		c->tenant = k;
		c->weight = rng_lognormal(&r, 1, 0.8);
		c->ctr = rng_between(&r, 0.06, 0.16);
		c->fail = rng_chance(&r, 0.2) ? rng_between(&r, 1.5, 3) :
		    rng_between(&r, 0.6, 1.2);
		make_sender(c->sender, &w->tenant[k], tbrand[k], &r);
		w->tenant[k].ncamp++;
	}
	w->camp_idx = cdr_xcalloc(campaigns, sizeof(*w->camp_idx));
	fill = cdr_xcalloc(tenants, sizeof(*fill));
	for (k = 0, i = 0; i < tenants; i++) {
		w->tenant[i].camp = w->camp_idx + k;
		k += w->tenant[i].ncamp;
	}
	for (i = 0; i < campaigns; i++) {
		t = &w->tenant[w->camp[i].tenant];
		t->camp[fill[w->camp[i].tenant]++] = i;
	}
	free(fill);
	free(tcum);
	free(tbrand);
	build_zones(w);
}

void
world_free(struct world *w)
{
	uint32_t i;
	int z;

	for (i = 0; i < w->ntenant; i++)
		free(w->tenant[i].ver);
	for (z = 0; z < NHOMES; z++) {
		free(w->tz[z].idx);
		free(w->tz[z].cum);
		free(w->cz[z].idx);
		free(w->cz[z].cum);
	}
	free(w->tenant);
	free(w->camp);
	free(w->camp_idx);
	free(w->skill);
}

const char *
tenant_region(const struct tenant *t, int64_t at)
{
	int i;

	for (i = t->nver - 1; i > 0 && t->ver[i].at > at; i--)
		continue;
	return t->home->region[t->ver[i].region];
}

int
local_minute(const struct home *h, int64_t t)
{
	int64_t local = t + h->utc_min * MS_PER_MIN;
	int64_t m = local % MS_PER_DAY;

	if (m < 0)
		m += MS_PER_DAY;
	return (int)(m / MS_PER_MIN);
}

/* Hourly weights, interpolated between the middles of the hours. */
static double
curve_at(enum curve curve, int64_t local)
{
	const double *hours = curve == CURVE_SMS ? hours_sms : hours_calls;
	const double *days = curve == CURVE_SMS ? days_sms : days_calls;
	int64_t day = local / MS_PER_DAY, rem;
	double x, f;
	int h;

	if (local % MS_PER_DAY < 0)
		day--;
	rem = local - day * MS_PER_DAY;
	x = (double)rem / MS_PER_HOUR - 0.5;
	h = (int)floor(x);
	f = x - h;
	/* 1970-01-01 was a Thursday. */
	return (hours[(h + 24) % 24] * (1 - f) + hours[(h + 1) % 24] * f) *
	    days[((day + 4) % 7 + 7) % 7];
}

double
diurnal_load(enum curve curve, const struct home *h, int64_t t)
{
	return curve_at(curve, t + h->utc_min * MS_PER_MIN);
}

void
diurnal_init(struct diurnal *d, const struct world *w, enum curve curve,
    int by_campaign)
{
	memset(d, 0, sizeof(*d));
	d->w = w;
	d->z = by_campaign ? w->cz : w->tz;
	d->curve = curve;
	d->minute = INT64_MIN;
}

/* Weights are taken once a minute: the curves change slowly. */
static void
refresh(struct diurnal *d, int64_t t)
{
	int64_t minute = t / MS_PER_MIN - (t % MS_PER_MIN < 0);
	int z;

	if (minute == d->minute)
		return;
	d->minute = minute;
	d->sum = 0;
	for (z = 0; z < NHOMES; z++) {
		d->zw[z] = d->z[z].weight == 0 ? 0 : d->z[z].weight *
		    curve_at(d->curve, minute * MS_PER_MIN +
		    homes[z].utc_min * MS_PER_MIN);
		d->sum += d->zw[z];
	}
}

double
diurnal_density(struct diurnal *d, int64_t t)
{
	refresh(d, t);
	return d->sum;
}

static uint32_t
pick_cum(const struct zone *z, double u)
{
	uint32_t lo = 0, hi = z->n - 1, mid;
	double x = u * z->weight;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (z->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return z->idx[lo];
}

uint32_t
diurnal_pick(struct diurnal *d, struct rng *r, int64_t t)
{
	double x;
	int z;

	refresh(d, t);
	x = rng_unit(r) * d->sum;
	for (z = 0; z < NHOMES - 1; z++) {
		if (d->zw[z] > 0 && x < d->zw[z])
			break;
		x -= d->zw[z];
	}
	while (d->zw[z] == 0)
		z--;
	return pick_cum(&d->z[z], rng_unit(r));
}

void
sampler_init(struct sampler *s, struct diurnal *d, int64_t start,
    int64_t span, uint64_t n)
{
	size_t i;
	int64_t a, b;

	memset(s, 0, sizeof(*s));
	s->d = d;
	s->start = start;
	s->span = span;
	s->n = n;
	s->nbins = (size_t)(span / MS_PER_MIN);
	if (s->nbins < 1)
		s->nbins = 1;
	if (s->nbins > (1u << 20))
		s->nbins = 1u << 20;
	s->cum = cdr_xcalloc(s->nbins + 1, sizeof(*s->cum));
	for (i = 0; i < s->nbins; i++) {
		a = start + (int64_t)((double)span * i / s->nbins);
		b = start + (int64_t)((double)span * (i + 1) / s->nbins);
		s->cum[i + 1] = s->cum[i] +
		    diurnal_density(d, a + (b - a) / 2) * (double)(b - a);
	}
}

void
sampler_rewind(struct sampler *s)
{
	s->bin = 0;
}

int64_t
sampler_time(struct sampler *s, uint64_t i, double u)
{
	double q = ((double)i + u) / (double)s->n * s->cum[s->nbins], f;
	int64_t a, b, t;

	while (s->bin + 1 < s->nbins && s->cum[s->bin + 1] <= q)
		s->bin++;
	a = s->start + (int64_t)((double)s->span * s->bin / s->nbins);
	b = s->start + (int64_t)((double)s->span * (s->bin + 1) / s->nbins);
	f = (q - s->cum[s->bin]) / (s->cum[s->bin + 1] - s->cum[s->bin]);
	if (f < 0)
		f = 0;
	t = a + (int64_t)(f * (double)(b - a));
	/* Rounding must not carry a time past the end of its bin. */
	return t < b ? t : b - 1;
}

void
sampler_free(struct sampler *s)
{
	free(s->cum);
}
