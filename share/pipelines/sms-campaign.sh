#!/usr/bin/env bash
# sms-campaign.sh: SMS campaign engagement reports from sent, delivery and
# click events (cdr-gen sms, or the three streams of a messaging platform),
# with the cdrpipe tools alone.
#
# usage: sms-campaign.sh [-z zone] [-s state-dir] [-e max-error-rate] -d out-dir [file...]
#
# Reads the new events from the files (or standard input), in any order and
# with duplicates, and writes to out-dir:
#
#   messages.ndjson   one row per message: message_id, campaign_id, recipient,
#                     sent_time, status and status_time (the latest receipt
#                     wins, by receipt_time), error_code (of that receipt),
#                     clicks (distinct clicks), first_click, last_click,
#                     engaged (true/false)
#   campaign-days.ndjson
#                     one row per campaign and day of sending in zone:
#                     window_start, window_end, grain, campaign_id, sent,
#                     delivered, failed (failed or expired), delivery_rate
#                     (delivered/sent), clickers (distinct recipients with a
#                     click), clicks, ctr (clickers/delivered), median_ttfc
#                     (median seconds from sending to the first click, linear
#                     between the two middle values as percentile_cont)
#   rejected.ndjson   events that fail the sms schema, with reasons (see
#                     cdr-validate(1)); more than max-error-rate of them
#                     (default 1%) makes the exit status 1
#   unsent.ndjson     message rows left out of campaign-days.ndjson because
#                     their sent event has not come yet (as cdr-rollup dead
#                     letters); the sent event, when it comes, puts them in
#
# Times are written in zone (-z, default UTC: an IANA name or +05:30).
#
# Incremental (-s state-dir): the state directory keeps, between runs, the
# partial state of every message (messages.partial, cdr-rollup --partial).
# Each run merges its events into that state, so a click or receipt that
# arrives days after the message was sent updates the message row and the
# row of the campaign and day it was sent.  The reports are always complete
# (all days so far).  Run it once per batch of new events; a run that fails
# commits nothing to state-dir: the state is replaced by one rename, after
# the reports, and a run cut short anywhere can simply be run again.
#
# Duplicates (a retried webhook repeats an event byte for byte, within a
# batch or in a later one) change nothing, because every aggregate of a
# message is idempotent: earliest and latest values, first and last by
# time, and clicks counted as distinct (click_time, ip, user_agent), a
# missing or null ip or user agent counting as "".  Running the same batch
# twice is safe, and no key of past events has to be kept: the state is
# about 0.3 KB a message, kept for ever; start a new state directory once
# no more events can come for the old messages.
# Keep out-dir and state-dir on one file system, so that the final moves
# are renames.
#
# Crontab, a batch every night after the day's logs are closed, Berlin days:
#
#   15 0 * * * d=$(date -d yesterday +\%F) && cd /srv/sms && zcat logs/$d/*.ndjson.gz |
#       /usr/local/share/cdrpipe/pipelines/sms-campaign.sh -z Europe/Berlin -s state -d reports/$d
#
# (one line in the crontab: see sms-campaign.cron)
#
#   CDR_BIN   directory of the tools (default: build/bin of this tree, else PATH)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -n "${CDR_BIN:-}" ]; then
	PATH=$CDR_BIN:$PATH
elif [ -x "$top/build/bin/cdr-rollup" ]; then
	PATH=$top/build/bin:$PATH
fi

prog=sms-campaign.sh
usage() {
	echo "usage: $prog [-z zone] [-s state-dir] [-e max-error-rate] -d out-dir [file...]" >&2
	exit 2
}

zone=UTC state='' out='' max_error_rate=1%
while getopts 'd:e:hs:z:' opt; do
	case $opt in
	d) out=$OPTARG ;;
	e) max_error_rate=$OPTARG ;;
	h) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	s) state=$OPTARG ;;
	z) zone=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$out" ] || usage

mkdir -p "$out"
[ -z "$state" ] || mkdir -p "$state"
work=$(mktemp -d "${out%/}/.sms-campaign.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Per message: receipts and clicks carry their time in fields of their own.
# Every aggregate is idempotent (see Duplicates above).
time_fields=sent_time,receipt_time,click_time
message_aggs='recipient=first(recipient,sent_time),sent_time=min(sent_time),status=last(status,receipt_time),status_time=max(receipt_time),error_code=last(error_code,receipt_time),clicks=distinct(click_time,coalesce(ip,""),coalesce(user_agent,"")),first_click=min(click_time),last_click=max(click_time),engaged=clicks>0'

# Per campaign and day of sending, from the message rows.  Conditions are
# counted without jq (count_if(.status=="delivered") says the same, 4x
# slower): a comparison is 1 or 0, 1/0 is null, and count() and distinct()
# skip nulls, so count(1/(c)) counts the rows where c holds, and
# distinct(recipient,1/(clicks>0)) counts the recipients with a click.
campaign_aggs='sent=count,delivered=count(1/(status=="delivered")),failed=count(1/((status=="failed")+(status=="expired"))),delivery_rate=delivered/sent,clickers=distinct(recipient,1/(clicks>0)),clicks=sum(clicks),ctr=clickers/delivered,median_ttfc=median(first_click-sent_time)'

# Campaign days from message rows (standard input).  A message whose sent
# event has not come yet has no day: it waits in unsent.ndjson (as a dead
# letter) until it comes.
campaign_days() {
	cdr-rollup -q --every 1d --tz "$zone" --time sent_time --by campaign_id --exact \
		--agg "$campaign_aggs" --dead-letter "$work/unsent.ndjson" --max-error-rate 100% \
		-o "$work/campaign-days.ndjson"
}

# 1. Validate the new events, and fold them into partial states per
#    message.  Without a state directory the message rows are written at
#    once, and the campaign days are computed from the file they are in
#    (a tee into the campaign rollup costs more: every byte copied twice
#    more, in 8 KiB pieces).
validate() {
	cdr-validate -q -s sms \
		--dead-letter "$work/rejected.ndjson" --max-error-rate "$max_error_rate" "$@"
}
if [ -z "$state" ]; then
	validate "$@" |
		cdr-rollup -q --tz "$zone" --time "$time_fields" \
			--by message_id,campaign_id --agg "$message_aggs" \
			-o "$work/messages.ndjson"
	campaign_days <"$work/messages.ndjson"
else
	validate "$@" |
		cdr-rollup -q --tz "$zone" --time "$time_fields" \
			--by message_id,campaign_id --agg "$message_aggs" \
			--partial -o "$work/new.partial"
	# 2. Merge them into the state of the earlier runs, and write the
	#    message rows and campaign days from the whole state.
	if [ -f "$state/messages.partial" ]; then
		cdr-rollup -q --merge --partial -o "$work/messages.partial" \
			"$state/messages.partial" "$work/new.partial"
	else
		mv "$work/new.partial" "$work/messages.partial"
	fi
	cdr-rollup -q --merge --tz "$zone" -o "$work/messages.ndjson" \
		"$work/messages.partial"
	campaign_days <"$work/messages.ndjson"
fi

# 3. Commit: reports first, then the state.
for f in messages.ndjson campaign-days.ndjson rejected.ndjson unsent.ndjson; do
	if [ -f "$work/$f" ]; then
		mv -f "$work/$f" "$out/$f"
	else
		: >"$out/$f"
	fi
done
if [ -n "$state" ]; then
	mv -f "$work/messages.partial" "$state/messages.partial"
fi
