/*
 * The policy and plan files of cdr-tier (tools/cdr-tier.c): the input is
 * a policy, a line "---", then records that serve as the inventory of
 * plan and cost --inventory and as the plan of apply --dry-run.  The
 * tool's functions are static, so its source is included here, with its
 * main renamed.
 *
 * A bad policy ends cdr-tier with a message (cdr_die); here cdr_die
 * returns to the harness instead, which frees what load_policy had
 * allocated (it leaves that to the exit).
 */
#include <stdint.h>

#include "fuzz.h"

int cdr_tier_main(int argc, char **argv);
#define main cdr_tier_main
#include "../tools/cdr-tier.c"
#undef main

static struct tier t;
static volatile int loading;

static void free_policy(struct tier *tp);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup("fuzz_policy");
	return 0;
}

static void
free_policy(struct tier *tp)
{
	for (size_t i = 0; i < tp->ntiers; i++) {
		free(tp->tiers[i].name);
		free(tp->tiers[i].dir);
		free(tp->tiers[i].class);
	}
	free(tp->tiers);
	free(tp->move_to);
	free(tp->archive_dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cost_format formats[] = {
		COST_TABLE, COST_CSV, COST_NDJSON
	};
	const uint8_t *policy, *records;
	size_t plen, rlen;
	char *policy_path, *records_path;

	fuzz_split(data, size, &policy, &plen, &records, &rlen);
	policy_path = cdr_xstrdup(fuzz_file("policy.json", policy, plen));
	records_path = cdr_xstrdup(fuzz_file("records.ndjson", records,
	    rlen));
	memset(&t, 0, sizeof(t));
	t.journal_fd = -1;
	t.quiet = 1;
	t.today = parse_day("2026-11-23", 10);
	t.policy_path = policy_path;
	t.inventory_path = records_path;
	t.out = cdr_out_stdout();
	fuzz_armed = 1;
	loading = 1;
	fuzz_track_begin();
	if (setjmp(fuzz_jmp) == 0) {
		load_policy(&t);
		loading = 0;
		fuzz_track_end(0);
		run_plan(&t, 1, &records_path);
		t.cost_format = formats[size % 3];
		run_cost_inventory(&t);
		/* A dry run only reports: no file is touched. */
		t.dry_run = 1;
		run_apply(&t, 1, &records_path);
		if (t.npacks != 0 || t.journal_fd != -1)
			abort();
	} else if (loading) {
		/* All the policy allocated so far is freed with the rest. */
		fuzz_track_end(1);
		t.tiers = NULL;
		t.ntiers = 0;
		t.move_to = t.archive_dir = NULL;
	}
	fuzz_armed = 0;
	cdr_out_flush(t.out);
	free_policy(&t);
	free(policy_path);
	free(records_path);
	return 0;
}
