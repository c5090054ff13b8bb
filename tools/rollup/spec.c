/*
 * The aggregate language of --agg and the keys of --by.
 *
 *   item    := [NAME '='] expr
 *   expr    := sum [('<'|'<='|'>'|'>='|'=='|'!=') sum]
 *   sum     := product {('+'|'-') product}
 *   product := unary {('*'|'/') unary}
 *   unary   := '-' unary | primary
 *
 * Outside an aggregate's parentheses a primary is a number, a string, an
 * aggregate call (optionally followed by filter(JQ)), a preset, or the
 * name of an earlier column; inside, it is a field path, a number, a
 * string, coalesce(...) or field("odd name").  Aggregates become leaves:
 * one mergeable state per group each, shared by every column that needs
 * it (avg, p50 and p99 of one field share its sum, count and sketch).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

#include "rollup.h"

enum tokt {
	T_END, T_IDENT, T_NUM, T_STR, T_LP, T_RP, T_COMMA, T_ASSIGN, T_OP
};

struct tok {
	enum tokt	 t;
	const char	*p;
	size_t		 n;
	enum xop	 op;
};

struct lexer {
	struct rollup	*r;
	const char	*text;		/* the whole option value */
	const char	*p;
	struct tok	 cur;
	int		 in_agg;	/* inside an aggregate's arguments */
};

static void lex_next(struct lexer *lx);
static struct expr *parse_expr(struct lexer *lx);

static _Noreturn void CDR_PRINTF(2, 3)
spec_error(const struct lexer *lx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cdr_usage_error("--agg %s: %s", lx->text, msg);
}

static int
ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static int
ident_char(int c)
{
	return isalnum(c) || c == '_';
}

static void
lex_next(struct lexer *lx)
{
	const char *p = lx->p;
	struct tok *t = &lx->cur;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	t->p = p;
	t->n = 1;
	switch (*p) {
	case '\0':
		t->t = T_END;
		t->n = 0;
		break;
	case '(':
		t->t = T_LP;
		break;
	case ')':
		t->t = T_RP;
		break;
	case ',':
		t->t = T_COMMA;
		break;
	case '+': t->t = T_OP; t->op = X_ADD; break;
	case '-': t->t = T_OP; t->op = X_SUB; break;
	case '*': t->t = T_OP; t->op = X_MUL; break;
	case '/': t->t = T_OP; t->op = X_DIV; break;
	case '<':
	case '>':
		t->t = T_OP;
		if (p[1] == '=') {
			t->op = *p == '<' ? X_LE : X_GE;
			t->n = 2;
		} else {
			t->op = *p == '<' ? X_LT : X_GT;
		}
		break;
	case '=':
		if (p[1] == '=') {
			t->t = T_OP;
			t->op = X_EQ;
			t->n = 2;
		} else {
			t->t = T_ASSIGN;
		}
		break;
	case '!':
		if (p[1] != '=')
			spec_error(lx, "unexpected '!'");
		t->t = T_OP;
		t->op = X_NE;
		t->n = 2;
		break;
	case '"': {
		const char *q = p + 1;

		while (*q != '\0' && *q != '"') {
			if (*q == '\\' && q[1] != '\0')
				q++;
			q++;
		}
		if (*q != '"')
			spec_error(lx, "unterminated string");
		t->t = T_STR;
		t->n = (size_t)(q + 1 - p);
		break;
	}
	default:
		if (isdigit((unsigned char)*p) || (*p == '.' &&
		    isdigit((unsigned char)p[1]))) {
			const char *q = p;

			while (isalnum((unsigned char)*q) || *q == '.' ||
			    ((*q == '+' || *q == '-') &&
			    (q[-1] == 'e' || q[-1] == 'E')))
				q++;
			t->t = T_NUM;
			t->n = (size_t)(q - p);
		} else if (ident_start((unsigned char)*p)) {
			const char *q = p;

			for (;;) {
				while (ident_char((unsigned char)*q))
					q++;
				if (*q == '.' && ident_char((unsigned char)q[1]))
					q++;
				else
					break;
			}
			t->t = T_IDENT;
			t->n = (size_t)(q - p);
		} else {
			spec_error(lx, "unexpected '%c'", *p);
		}
	}
	lx->p = p + t->n;
}

static int
tok_is(const struct tok *t, const char *s)
{
	return t->t == T_IDENT && strlen(s) == t->n &&
	    memcmp(t->p, s, t->n) == 0;
}

static void
expect(struct lexer *lx, enum tokt t, const char *what)
{
	if (lx->cur.t != t)
		spec_error(lx, "expected %s at '%.20s'", what, lx->cur.p);
	lex_next(lx);
}

/*
 * The text of a jq expression up to the ')' closing the '(' just read,
 * respecting jq strings; the lexer continues after the ')'.
 */
static char *
raw_until_close(struct lexer *lx)
{
	const char *start, *p;
	int depth = 0;
	char *s;

	if (lx->cur.t != T_LP)
		spec_error(lx, "expected '(' at '%.20s'", lx->cur.p);
	start = p = lx->cur.p + 1;

	for (;; p++) {
		if (*p == '\0')
			spec_error(lx, "missing ')'");
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					spec_error(lx, "unterminated string");
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			continue;
		}
		if (*p == '(' || *p == '[' || *p == '{')
			depth++;
		else if (*p == ']' || *p == '}')
			depth--;
		else if (*p == ')') {
			if (depth == 0)
				break;
			depth--;
		}
	}
	while (start < p && isspace((unsigned char)*start))
		start++;
	s = cdr_xstrndup(start, (size_t)(p - start));
	while (*s && isspace((unsigned char)s[strlen(s) - 1]))
		s[strlen(s) - 1] = '\0';
	if (*s == '\0')
		spec_error(lx, "empty jq expression");
	lx->p = p + 1;
	lex_next(lx);
	return s;
}

static struct expr *
new_expr(enum xop op)
{
	struct expr *e = cdr_xcalloc(1, sizeof(*e));

	e->op = op;
	e->field = e->leaf = e->leaf2 = e->col = -1;
	return e;
}

/* Frees an expression tree that no leaf or column holds. */
static void
expr_free(struct expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nkids; i++)
		expr_free(e->kids[i]);
	free(e->kids);
	if (e->op == X_STR)
		free((char *)(uintptr_t)e->lit.s);
	free(e);
}

static void
add_kid(struct expr *e, struct expr *k)
{
	e->kids = cdr_xreallocarray(e->kids, e->nkids + 1, sizeof(*e->kids));
	e->kids[e->nkids++] = k;
}

int
field_add(struct rollup *r, const char *path)
{
	size_t i;
	struct field *f;

	for (i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].path_text, path) == 0)
			return (int)i;
	r->fields = cdr_xreallocarray(r->fields, r->nfields + 1,
	    sizeof(*r->fields));
	f = &r->fields[r->nfields];
	memset(f, 0, sizeof(*f));
	f->path_text = cdr_xstrdup(path);
	f->dim = -1;
	if (cdr_path_init(&f->path, path) != 0)
		cdr_usage_error("%s: not a field name", path);
	return (int)r->nfields++;
}

static struct expr *
literal(struct lexer *lx)
{
	struct expr *e;
	struct cdr_buf b = CDR_BUF_INIT;
	struct val v;

	/* Checked before anything is allocated: errors exit. */
	if (lx->cur.t == T_NUM) {
		if (num_parse(lx->cur.p, lx->cur.n, &v) != 0)
			spec_error(lx, "%.*s: not a number", (int)lx->cur.n,
			    lx->cur.p);
		e = new_expr(X_NUM);
		e->lit = v;
	} else {
		if (cdr_json_unescape(lx->cur.p + 1, lx->cur.n - 2, &b) != 0) {
			cdr_buf_free(&b);
			spec_error(lx, "bad string %.*s", (int)lx->cur.n,
			    lx->cur.p);
		}
		e = new_expr(X_STR);
		e->lit.kind = VK_STR;
		e->lit.s = b.p ? b.p : cdr_xstrdup("");
		e->lit.n = b.len;
	}
	lex_next(lx);
	return e;
}

/* Inside an aggregate: fields, literals, coalesce, arithmetic. */
static struct expr *
rec_primary(struct lexer *lx)
{
	struct expr *e;
	char *name;

	switch (lx->cur.t) {
	case T_NUM:
	case T_STR:
		return literal(lx);
	case T_LP:
		lex_next(lx);
		e = parse_expr(lx);
		expect(lx, T_RP, "')'");
		return e;
	case T_IDENT:
		break;
	default:
		spec_error(lx, "expected a field at '%.20s'", lx->cur.p);
	}
	name = cdr_xstrndup(lx->cur.p, lx->cur.n);
	lex_next(lx);
	if (lx->cur.t == T_LP && strcmp(name, "coalesce") == 0) {
		e = new_expr(X_COALESCE);
		lex_next(lx);
		for (;;) {
			add_kid(e, parse_expr(lx));
			if (lx->cur.t != T_COMMA)
				break;
			lex_next(lx);
		}
		expect(lx, T_RP, "')'");
		free(name);
		return e;
	}
	if (lx->cur.t == T_LP && strcmp(name, "field") == 0) {
		struct expr *s;

		lex_next(lx);
		if (lx->cur.t != T_STR)
			spec_error(lx, "field() takes a string");
		s = literal(lx);
		expect(lx, T_RP, "')'");
		e = new_expr(X_FIELD);
		e->field = field_add(lx->r, s->lit.s);
		expr_free(s);
		free(name);
		return e;
	}
	if (lx->cur.t == T_LP)
		spec_error(lx, "%s(): not a function of record values", name);
	e = new_expr(X_FIELD);
	e->field = field_add(lx->r, name);
	free(name);
	return e;
}

/* Canonical text of a record expression. */
static void
canon(const struct rollup *r, const struct expr *e, struct cdr_buf *b)
{
	static const char *const ops[] = {
		[X_ADD] = "+", [X_SUB] = "-", [X_MUL] = "*", [X_DIV] = "/",
		[X_LT] = "<", [X_LE] = "<=", [X_GT] = ">", [X_GE] = ">=",
		[X_EQ] = "==", [X_NE] = "!="
	};
	char num[64];
	size_t i;
	const char *p;

	switch (e->op) {
	case X_NUM:
		if (e->lit.exact)
			fmt_dec(num, sizeof(num), e->lit.m, e->lit.scale);
		else
			fmt_double(num, sizeof(num), e->lit.d);
		cdr_buf_adds(b, num);
		break;
	case X_STR:
		cdr_buf_addc(b, '"');
		for (i = 0; i < e->lit.n; i++) {
			if (e->lit.s[i] == '"' || e->lit.s[i] == '\\')
				cdr_buf_addc(b, '\\');
			cdr_buf_addc(b, e->lit.s[i]);
		}
		cdr_buf_addc(b, '"');
		break;
	case X_FIELD:
		p = r->fields[e->field].path_text;
		for (i = 0; p[i] && (ident_char((unsigned char)p[i]) ||
		    (p[i] == '.' && i > 0)); i++)
			;
		if (p[i] == '\0' && ident_start((unsigned char)p[0])) {
			cdr_buf_adds(b, p);
		} else {
			cdr_buf_adds(b, "field(\"");
			for (; *p; p++) {
				if (*p == '"' || *p == '\\')
					cdr_buf_addc(b, '\\');
				cdr_buf_addc(b, *p);
			}
			cdr_buf_adds(b, "\")");
		}
		break;
	case X_COALESCE:
		cdr_buf_adds(b, "coalesce(");
		for (i = 0; i < e->nkids; i++) {
			if (i > 0)
				cdr_buf_addc(b, ',');
			canon(r, e->kids[i], b);
		}
		cdr_buf_addc(b, ')');
		break;
	case X_NEG:
		cdr_buf_adds(b, "-(");
		canon(r, e->kids[0], b);
		cdr_buf_addc(b, ')');
		break;
	default:
		cdr_buf_addc(b, '(');
		canon(r, e->kids[0], b);
		cdr_buf_adds(b, ops[e->op]);
		canon(r, e->kids[1], b);
		cdr_buf_addc(b, ')');
		break;
	}
}

const char *
aggfn_name(enum aggfn fn)
{
	static const char *const names[] = {
		[A_COUNT] = "count", [A_COUNTV] = "count", [A_SUM] = "sum",
		[A_MIN] = "min", [A_MAX] = "max", [A_FIRST] = "first",
		[A_LAST] = "last", [A_DISTINCT] = "distinct",
		[A_QUANT] = "quantiles"
	};

	return names[fn];
}

static int
pred_add(struct rollup *r, const char *text)
{
	size_t i;

	for (i = 0; i < r->npreds; i++)
		if (strcmp(r->preds[i].text, text) == 0)
			return (int)i;
	r->preds = cdr_xreallocarray(r->preds, r->npreds + 1,
	    sizeof(*r->preds));
	memset(&r->preds[r->npreds], 0, sizeof(r->preds[0]));
	r->preds[r->npreds].text = cdr_xstrdup(text);
	return (int)r->npreds++;
}

/* The leaf for fn over args (kept), shared when its text is known. */
static int
leaf_get(struct rollup *r, enum aggfn fn, struct expr **args, size_t nargs,
    int order, const char *filter)
{
	struct cdr_buf b = CDR_BUF_INIT;
	struct leaf *l;
	size_t i;

	cdr_buf_adds(&b, aggfn_name(fn));
	if (nargs > 0 || order >= 0) {
		cdr_buf_addc(&b, '(');
		for (i = 0; i < nargs; i++) {
			if (i > 0)
				cdr_buf_addc(&b, ',');
			canon(r, args[i], &b);
		}
		if (order >= 0) {
			cdr_buf_addc(&b, ',');
			cdr_buf_adds(&b, r->fields[order].path_text);
		}
		cdr_buf_addc(&b, ')');
	}
	if (filter != NULL) {
		cdr_buf_adds(&b, " filter(");
		cdr_buf_adds(&b, filter);
		cdr_buf_addc(&b, ')');
	}
	for (i = 0; i < r->nleaves; i++) {
		if (strcmp(r->leaves[i].canon, b.p) == 0) {
			cdr_buf_free(&b);
			return (int)i;
		}
	}
	r->leaves = cdr_xreallocarray(r->leaves, r->nleaves + 1,
	    sizeof(*r->leaves));
	l = &r->leaves[r->nleaves];
	memset(l, 0, sizeof(*l));
	l->fn = fn;
	l->canon = b.p;
	l->args = cdr_xcalloc(nargs + 1, sizeof(*l->args));
	for (i = 0; i < nargs; i++) {
		l->args[i] = args[i];
		args[i]->adopted = 1;
	}
	l->nargs = nargs;
	l->order = order;
	l->pred = filter ? pred_add(r, filter) : -1;
	l->numeric = fn == A_SUM || fn == A_QUANT;
	if (fn == A_FIRST || fn == A_LAST)
		r->need_tie = 1;
	return (int)r->nleaves++;
}

struct preset {
	const char	*name;
	int		 nargs;
	const char	*defaults;	/* the expansion without arguments */
	const char	*with_args;	/* %1, %2: the arguments */
};

/*
 * Telecom presets.  Defaults follow `cdr-gen calls`; the arguments name
 * other fields (agents(AgentId), max_wait(WaitingTime) for agent states).
 */
static const struct preset presets[] = {
	{ "asr", 1, "count(answer_time)/count", "count(%1)/count" },
	{ "acd", 2, "sum(billsec)/count(answer_time)", "sum(%1)/count(%2)" },
	{ "calls_in_queue", 1, "count(queue_id)", "count(%1)" },
	{ "agents", 1, "distinct(agent_id)", "distinct(%1)" },
	{ "min_handle", 1, "min(billsec+meta.wrapup_s)", "min(%1)" },
	{ "max_handle", 1, "max(billsec+meta.wrapup_s)", "max(%1)" },
	{ "min_wait", 1, "min(answer_time-start_time)", "min(%1)" },
	{ "max_wait", 1, "max(answer_time-start_time)", "max(%1)" },
};

static const struct preset *
find_preset(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

/* Splits the raw text of "(a, b)" at top-level commas. */
static size_t
raw_args(struct lexer *lx, char ***out)
{
	char *all = raw_until_close(lx), *p, *start;
	int depth = 0;
	size_t n = 0;

	*out = NULL;
	for (p = start = all;; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		if ((*p == ',' && depth == 0) || *p == '\0') {
			char *a = cdr_xstrndup(start, (size_t)(p - start));

			*out = cdr_xreallocarray(*out, n + 1, sizeof(**out));
			(*out)[n++] = a;
			if (*p == '\0')
				break;
			start = p + 1;
		}
	}
	free(all);
	return n;
}

static struct expr *
expand_preset(struct lexer *lx, const struct preset *ps, int with_args)
{
	struct cdr_buf b = CDR_BUF_INIT;
	struct lexer sub;
	struct expr *e;
	char **args = NULL;
	size_t n = 0, i;
	const char *p;

	if (with_args) {
		n = raw_args(lx, &args);
		if ((int)n > ps->nargs)
			spec_error(lx, "%s takes at most %d argument%s",
			    ps->name, ps->nargs, ps->nargs > 1 ? "s" : "");
	}
	if (n == 0) {
		cdr_buf_adds(&b, ps->defaults);
	} else {
		/* Missing arguments come from the defaults' text. */
		for (p = ps->with_args; *p; p++) {
			if (*p == '%' && (p[1] == '1' || p[1] == '2')) {
				i = (size_t)(p[1] - '1');
				if (i < n) {
					cdr_buf_addc(&b, '(');
					cdr_buf_adds(&b, args[i]);
					cdr_buf_addc(&b, ')');
				} else {
					cdr_buf_adds(&b, "answer_time");
				}
				p++;
			} else {
				cdr_buf_addc(&b, *p);
			}
		}
	}
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	memset(&sub, 0, sizeof(sub));
	sub.r = lx->r;
	sub.text = lx->text;
	sub.p = b.p;
	lex_next(&sub);
	e = parse_expr(&sub);
	if (sub.cur.t != T_END)
		spec_error(lx, "bad preset expansion %s", b.p);
	/* The expansion's text lives as long as the run: strings point in. */
	lx->r->spec_texts = cdr_xreallocarray(lx->r->spec_texts,
	    lx->r->nspec_texts + 1, sizeof(*lx->r->spec_texts));
	lx->r->spec_texts[lx->r->nspec_texts++] = b.p;
	return e;
}

static struct expr *
agg_node(int leaf, enum fin fin, int leaf2, double q)
{
	struct expr *e = new_expr(X_AGG);

	e->leaf = leaf;
	e->fin = fin;
	e->leaf2 = leaf2;
	e->q = q;
	return e;
}

/* An optional "filter(JQ)" after an aggregate call. */
static char *
parse_filter(struct lexer *lx)
{
	if (!tok_is(&lx->cur, "filter"))
		return NULL;
	lex_next(lx);
	if (lx->cur.t != T_LP)
		spec_error(lx, "filter needs (jq expression)");
	return raw_until_close(lx);
}

/* pNN: 1..99, "p999" is not a thing; percentile(x, q) covers the rest. */
static int
pct_name(const char *name, double *q)
{
	if (name[0] == 'p' && isdigit((unsigned char)name[1]) &&
	    (name[2] == '\0' || (isdigit((unsigned char)name[2]) &&
	    name[3] == '\0'))) {
		int v = atoi(name + 1);

		if (v >= 1 && v <= 99) {
			*q = v / 100.0;
			return 1;
		}
	}
	return 0;
}

/* name(args) at the aggregate level. */
static struct expr *
agg_call(struct lexer *lx, const char *name, int has_args)
{
	struct rollup *r = lx->r;
	struct expr *args[16], *e;
	size_t nargs = 0, total = 0, i;
	char *filter = NULL, *jq = NULL;
	enum aggfn fn;
	int order = -1, leaf, leaf2;
	double q = 0;
	const struct preset *ps = find_preset(name);

	if (ps != NULL)
		return expand_preset(lx, ps, has_args);
	if (strcmp(name, "count_if") == 0) {
		if (!has_args)
			spec_error(lx, "count_if needs (jq predicate)");
		jq = raw_until_close(lx);
		filter = parse_filter(lx);
		if (filter != NULL)
			spec_error(lx, "count_if takes no filter: use "
			    "count filter(...)");
		leaf = leaf_get(r, A_COUNT, NULL, 0, -1, jq);
		free(jq);
		return agg_node(leaf, F_VALUE, -1, 0);
	}
	if (has_args) {
		lex_next(lx);
		lx->in_agg = 1;
		if (lx->cur.t != T_RP) {
			for (;;) {
				if (nargs == 16)
					spec_error(lx, "too many arguments");
				args[nargs++] = parse_expr(lx);
				if (lx->cur.t != T_COMMA)
					break;
				lex_next(lx);
			}
		}
		lx->in_agg = 0;
		expect(lx, T_RP, "')'");
	}
	total = nargs;
	filter = parse_filter(lx);
	if (strcmp(name, "count") == 0) {
		if (nargs > 1)
			spec_error(lx, "count takes one field: count(x)");
		leaf = leaf_get(r, nargs ? A_COUNTV : A_COUNT, args, nargs, -1,
		    filter);
		e = agg_node(leaf, F_VALUE, -1, 0);
	} else if (strcmp(name, "distinct") == 0 ||
	    strcmp(name, "count_distinct") == 0) {
		if (nargs == 0)
			spec_error(lx, "distinct needs a field");
		leaf = leaf_get(r, A_DISTINCT, args, nargs, -1, filter);
		e = agg_node(leaf, F_VALUE, -1, 0);
	} else if (strcmp(name, "first") == 0 || strcmp(name, "last") == 0) {
		if (nargs < 1 || nargs > 2)
			spec_error(lx, "%s(value[, time field])", name);
		if (nargs == 2) {
			if (args[1]->op != X_FIELD)
				spec_error(lx, "%s: the order is a time field",
				    name);
			order = args[1]->field;
		}
		fn = name[0] == 'f' ? A_FIRST : A_LAST;
		leaf = leaf_get(r, fn, args, 1, order, filter);
		e = agg_node(leaf, F_VALUE, -1, 0);
	} else {
		if (nargs == 0)
			spec_error(lx, "%s needs a field", name);
		if (strcmp(name, "percentile") == 0) {
			if (nargs != 2 || args[1]->op != X_NUM ||
			    args[1]->lit.d <= 0 || args[1]->lit.d > 1)
				spec_error(lx, "percentile(x, q) with 0 < q <= 1");
			q = args[1]->lit.d;
			nargs = 1;
		} else if (nargs != 1) {
			spec_error(lx, "%s takes one argument", name);
		}
		if (strcmp(name, "sum") == 0) {
			leaf = leaf_get(r, A_SUM, args, 1, -1, filter);
			e = agg_node(leaf, F_VALUE, -1, 0);
		} else if (strcmp(name, "min") == 0) {
			leaf = leaf_get(r, A_MIN, args, 1, -1, filter);
			e = agg_node(leaf, F_VALUE, -1, 0);
		} else if (strcmp(name, "max") == 0) {
			leaf = leaf_get(r, A_MAX, args, 1, -1, filter);
			e = agg_node(leaf, F_VALUE, -1, 0);
		} else if (strcmp(name, "avg") == 0 ||
		    strcmp(name, "mean") == 0) {
			leaf = leaf_get(r, A_SUM, args, 1, -1, filter);
			leaf2 = leaf_get(r, A_COUNTV, args, 1, -1, filter);
			e = agg_node(leaf, F_AVG, leaf2, 0);
		} else if (strcmp(name, "median") == 0 ||
		    strcmp(name, "percentile") == 0 || pct_name(name, &q)) {
			if (name[0] == 'm')
				q = 0.5;
			leaf = leaf_get(r, A_QUANT, args, 1, -1, filter);
			e = agg_node(leaf, F_QUANTILE, -1, q);
		} else {
			spec_error(lx, "%s: no such aggregate", name);
		}
	}
	free(filter);
	/* Arguments no leaf took (an existing leaf, an order, a q). */
	for (i = 0; i < total; i++)
		if (!args[i]->adopted)
			expr_free(args[i]);
	return e;
}

static struct expr *
out_primary(struct lexer *lx)
{
	struct rollup *r = lx->r;
	struct expr *e;
	char *name;
	size_t i;

	if (lx->in_agg)
		return rec_primary(lx);
	switch (lx->cur.t) {
	case T_NUM:
	case T_STR:
		return literal(lx);
	case T_LP:
		lex_next(lx);
		e = parse_expr(lx);
		expect(lx, T_RP, "')'");
		return e;
	case T_IDENT:
		break;
	default:
		spec_error(lx, "expected an aggregate at '%.20s'", lx->cur.p);
	}
	name = cdr_xstrndup(lx->cur.p, lx->cur.n);
	lex_next(lx);
	if (lx->cur.t == T_LP) {
		e = agg_call(lx, name, 1);
	} else if (strcmp(name, "count") == 0 || find_preset(name) != NULL) {
		e = agg_call(lx, name, 0);
	} else {
		for (i = 0; i < r->ncols; i++)
			if (strcmp(r->cols[i].name, name) == 0)
				break;
		if (i == r->ncols)
			spec_error(lx, "%s: no such aggregate or earlier column",
			    name);
		e = new_expr(X_COL);
		e->col = (int)i;
	}
	free(name);
	return e;
}

static struct expr *
parse_unary(struct lexer *lx)
{
	struct expr *e;

	if (lx->cur.t == T_OP && lx->cur.op == X_SUB) {
		lex_next(lx);
		e = new_expr(X_NEG);
		add_kid(e, parse_unary(lx));
		return e;
	}
	return out_primary(lx);
}

static struct expr *
binary(enum xop op, struct expr *a, struct expr *b)
{
	struct expr *e = new_expr(op);

	add_kid(e, a);
	add_kid(e, b);
	return e;
}

static struct expr *
parse_product(struct lexer *lx)
{
	struct expr *e = parse_unary(lx);
	enum xop op;

	while (lx->cur.t == T_OP && (lx->cur.op == X_MUL ||
	    lx->cur.op == X_DIV)) {
		op = lx->cur.op;
		lex_next(lx);
		e = binary(op, e, parse_unary(lx));
	}
	return e;
}

static struct expr *
parse_sum(struct lexer *lx)
{
	struct expr *e = parse_product(lx);
	enum xop op;

	while (lx->cur.t == T_OP && (lx->cur.op == X_ADD ||
	    lx->cur.op == X_SUB)) {
		op = lx->cur.op;
		lex_next(lx);
		e = binary(op, e, parse_product(lx));
	}
	return e;
}

static struct expr *
parse_expr(struct lexer *lx)
{
	struct expr *e = parse_sum(lx);
	enum xop op;

	if (lx->cur.t == T_OP && lx->cur.op >= X_LT && lx->cur.op <= X_NE) {
		op = lx->cur.op;
		lex_next(lx);
		e = binary(op, e, parse_sum(lx));
	}
	return e;
}

/* The default column name: "count", "sum_duration_s", "p95_meta_pdd_ms". */
static char *
default_name(const char *start, const char *end)
{
	struct cdr_buf b = CDR_BUF_INIT;
	const char *p;
	int last_us = 0;

	for (p = start; p < end; p++) {
		if (isalnum((unsigned char)*p)) {
			cdr_buf_addc(&b, *p);
			last_us = 0;
		} else if (*p == '(' || *p == '.' || *p == ',' || *p == '_') {
			if (!last_us && b.len > 0) {
				cdr_buf_addc(&b, '_');
				last_us = 1;
			}
		} else if (*p == ')' || *p == ' ') {
			continue;
		} else {
			cdr_buf_free(&b);
			return NULL;
		}
	}
	while (b.len > 0 && b.p[b.len - 1] == '_')
		b.p[--b.len] = '\0';
	return b.p;
}

void
spec_parse_aggs(struct rollup *r, const char *text)
{
	struct lexer lx;
	struct column *c;
	const char *start;
	char *name;
	size_t i;

	memset(&lx, 0, sizeof(lx));
	lx.r = r;
	lx.text = text;
	lx.p = text;
	lex_next(&lx);
	while (lx.cur.t != T_END) {
		name = NULL;
		if (lx.cur.t == T_IDENT) {
			const char *save = lx.p;
			struct tok t = lx.cur;

			lex_next(&lx);
			if (lx.cur.t == T_ASSIGN) {
				name = cdr_xstrndup(t.p, t.n);
				if (strchr(name, '.') != NULL)
					spec_error(&lx, "%s: a name has no dots",
					    name);
				lex_next(&lx);
			} else {
				lx.p = save;
				lx.cur = t;
			}
		}
		start = lx.cur.p;
		if (lx.cur.t == T_END || lx.cur.t == T_COMMA)
			spec_error(&lx, "empty aggregate");
		r->cols = cdr_xreallocarray(r->cols, r->ncols + 1,
		    sizeof(*r->cols));
		c = &r->cols[r->ncols];
		memset(c, 0, sizeof(*c));
		c->e = parse_expr(&lx);
		{
			const char *end = lx.cur.p;

			while (end > start && isspace((unsigned char)end[-1]))
				end--;
			c->text = cdr_xstrndup(start, (size_t)(end - start));
			if (name == NULL)
				name = default_name(start, end);
		}
		if (name == NULL || *name == '\0' || strlen(name) > 64)
			spec_error(&lx, "name this column: NAME=%s", c->text);
		for (i = 0; i < r->ncols; i++)
			if (strcmp(r->cols[i].name, name) == 0)
				spec_error(&lx, "two columns named %s: name one "
				    "with NAME=...", name);
		for (i = 0; i < r->nkeys; i++)
			if (strcmp(r->keys[i].name, name) == 0)
				spec_error(&lx, "%s is a --by key", name);
		c->name = name;
		r->ncols++;
		if (lx.cur.t == T_COMMA) {
			lex_next(&lx);
			if (lx.cur.t == T_END)
				spec_error(&lx, "trailing ','");
		} else if (lx.cur.t != T_END) {
			spec_error(&lx, "unexpected '%.20s'", lx.cur.p);
		}
	}
}

/* --by [name=]path[,...]; names of dimension columns join the dimension. */
void
spec_parse_by(struct rollup *r, const char *text)
{
	char *copy = cdr_xstrdup(text), *tok, *save = NULL, *eq;
	struct key *k;
	size_t i;
	int col;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		eq = strchr(tok, '=');
		r->keys = cdr_xreallocarray(r->keys, r->nkeys + 1,
		    sizeof(*r->keys));
		k = &r->keys[r->nkeys];
		memset(k, 0, sizeof(*k));
		if (eq != NULL) {
			*eq = '\0';
			k->name = cdr_xstrdup(tok);
			k->source = cdr_xstrdup(eq + 1);
		} else {
			k->name = cdr_xstrdup(tok);
			k->source = cdr_xstrdup(tok);
		}
		if (*k->name == '\0' || *k->source == '\0')
			cdr_usage_error("--by %s: empty key", text);
		for (i = 0; i < r->nkeys; i++)
			if (strcmp(r->keys[i].name, k->name) == 0)
				cdr_usage_error("--by %s: %s twice", text,
				    k->name);
		if (strcmp(k->name, "window_start") == 0 ||
		    strcmp(k->name, "window_end") == 0 ||
		    strcmp(k->name, "grain") == 0)
			cdr_usage_error("--by %s: %s is an output column of its "
			    "own", text, k->name);
		k->field = -1;
		if (!r->merge) {
			col = r->dim ? dim_column(r->dim, k->source) : -1;
			if (col >= 0) {
				char vname[300];

				snprintf(vname, sizeof(vname), "\x01dim:%s",
				    k->source);
				k->field = field_add(r, vname);
				r->fields[k->field].dim = col;
			} else {
				k->field = field_add(r, k->source);
			}
		}
		r->nkeys++;
	}
	free(copy);
}

/*
 * The text that identifies the state layout: keys, leaves and sketch
 * parameters.  Partials whose texts differ cannot be merged row by row.
 */
char *
spec_canon_text(const struct rollup *r)
{
	struct cdr_buf b = CDR_BUF_INIT;
	size_t i;

	cdr_buf_printf(&b, "cdr-rollup partial %d|by", PARTIAL_VERSION);
	for (i = 0; i < r->nkeys; i++)
		cdr_buf_printf(&b, "%c%s=%s", i ? ',' : ':', r->keys[i].name,
		    r->keys[i].source);
	cdr_buf_adds(&b, "|leaves");
	for (i = 0; i < r->nleaves; i++)
		cdr_buf_printf(&b, "%c%s", i ? ';' : ':', r->leaves[i].canon);
	cdr_buf_printf(&b, "|hll:%d", r->hll_precision);
	if (r->exact)
		cdr_buf_adds(&b, "|quantiles:exact");
	else
		cdr_buf_printf(&b, "|quantiles:ddsketch:%.17g", r->alpha);
	return b.p;
}

/* After all options: compile predicates, lay out the states. */
void
spec_finish(struct rollup *r)
{
	char err[1024];
	size_t i;

	for (i = 0; i < r->npreds; i++) {
		r->preds[i].jq = cdr_jq_compile(r->preds[i].text, err,
		    sizeof(err));
		if (r->preds[i].jq == NULL)
			cdr_usage_error("--agg: jq %s: %s", r->preds[i].text,
			    err);
		r->need_jq = 1;
	}
	agg_layout(r);
}
