#!/usr/bin/env python3
"""A second, independent reading of cdr-gen output, for tests/10-gen.bats.

usage: gen_oracle.py KIND FORMAT FILE

KIND is calls, sms or agent-states; FORMAT ndjson or csv.  Prints the
line number (1-based, where the record starts) of every record that is
not a valid record of the kind, one a line, and exits 0.  Valid means:
strict RFC 8259 JSON (no duplicate keys, valid UTF-8) or strict RFC 4180
CSV (no bare quotes, no NUL, the header's column count), exactly the
documented keys, the documented types, enums and ranges, and the
relations between fields (end after start, duration_s = end - start
rounded, answered calls have an agent and a recording key, ...).
"""

import datetime
import json
import re
import sys

TS = re.compile(r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z$')
UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$')
E164 = re.compile(r'^\+[1-9][0-9]{6,14}$')
INT = re.compile(r'^-?[0-9]+$')
NUM = re.compile(r'^-?[0-9]+(\.[0-9]+)?$')


class Bad(Exception):
    pass


def ms(v):
    """Milliseconds since the epoch of a timestamp as cdr-gen writes it."""
    if not isinstance(v, str):
        raise Bad('time not a string')
    m = TS.match(v)
    if not m:
        raise Bad('bad time ' + v)
    try:
        d = datetime.datetime(*map(int, m.groups()[:6]),
                              tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Bad('bad date ' + v)
    return int(d.timestamp()) * 1000 + int(m.group(7))


def check(cond, why):
    if not cond:
        raise Bad(why)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return (is_int(v) or isinstance(v, float)) and not isinstance(v, bool)


def rounded_s(ms_):
    return (ms_ + 500) // 1000


def no_dups(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Bad('duplicate key ' + k)
        d[k] = v
    return d


CALL_KEYS = ['call_id', 'tenant_id', 'call_type', 'start_time', 'answer_time',
             'end_time', 'duration_s', 'billsec', 'agent_id', 'queue_id',
             'caller', 'callee', 'status', 'disposition', 'hangup_cause',
             'recording_key', 'meta']
META_KEYS = ['campaign_id', 'region', 'codec', 'mos', 'pdd_ms', 'wrapup_s',
             'tags']


def check_call(r):
    check(isinstance(r, dict), 'not an object')
    check(list(r.keys()) == CALL_KEYS, 'keys')
    meta = r['meta']
    check(isinstance(meta, dict), 'meta')
    keys = list(meta.keys())
    check(keys == META_KEYS or keys == META_KEYS + ['notes'], 'meta keys')
    check(isinstance(r['call_id'], str) and UUID.match(r['call_id']), 'id')
    check(isinstance(r['tenant_id'], str) and
          re.match(r'^t[0-9]{4,}$', r['tenant_id']), 'tenant')
    check(r['call_type'] in ('inbound', 'outbound', 'internal'), 'type')
    check(r['status'] in ('answered', 'no_answer', 'busy', 'failed',
                          'abandoned'), 'status')
    start, end = ms(r['start_time']), ms(r['end_time'])
    answered = r['status'] == 'answered'
    check(end >= start, 'end before start')
    check(is_int(r['duration_s']) and r['duration_s'] == rounded_s(end - start),
          'duration_s')
    if answered:
        answer = ms(r['answer_time'])
        check(start <= answer <= end, 'answer time')
        check(r['billsec'] == rounded_s(end - answer), 'billsec')
        check(isinstance(r['agent_id'], str) and
              re.match(r'^a[0-9]{5,}$', r['agent_id']), 'agent')
        check(isinstance(r['disposition'], str) and r['disposition'], 'disp')
        key = r['recording_key']
        day = r['start_time']
        want = ('connect/[a-z0-9-]+/CallRecordings/%s/%s/%s/%s_%s%s%sT%s_UTC\\.wav$'
                % (day[0:4], day[5:7], day[8:10], r['call_id'], day[0:4],
                   day[5:7], day[8:10], day[11:16]))
        check(isinstance(key, str) and re.match(want, key), 'recording key')
        check(meta['codec'] in ('PCMU', 'PCMA', 'G722', 'OPUS'), 'codec')
        check(is_num(meta['mos']) and 1 <= meta['mos'] <= 4.5, 'mos')
        check(is_int(meta['wrapup_s']) and meta['wrapup_s'] >= 0, 'wrapup')
    else:
        for k in ('answer_time', 'agent_id', 'disposition', 'recording_key'):
            check(r[k] is None, k + ' not null')
        check(r['billsec'] == 0, 'billsec')
        for k in ('codec', 'mos', 'wrapup_s'):
            check(meta[k] is None, 'meta.' + k + ' not null')
    check(r['queue_id'] is None or (isinstance(r['queue_id'], str) and
          re.match(r'^q[0-9]{4,}$', r['queue_id'])), 'queue')
    for k in ('caller', 'callee'):
        check(isinstance(r[k], str) and E164.match(r[k]), k)
    check(is_int(r['hangup_cause']) and 1 <= r['hangup_cause'] <= 127, 'cause')
    check(meta['campaign_id'] is None or (isinstance(meta['campaign_id'], str)
          and re.match(r'^c[0-9]{4,}$', meta['campaign_id'])), 'campaign')
    check(isinstance(meta['region'], str) and
          re.match(r'^[a-z]{2}-[a-z]+-[0-9]$', meta['region']), 'region')
    check(is_int(meta['pdd_ms']) and meta['pdd_ms'] >= 0, 'pdd')
    check(isinstance(meta['tags'], list) and
          all(isinstance(t, str) for t in meta['tags']), 'tags')
    check('notes' not in meta or isinstance(meta['notes'], str), 'notes')


SMS_KEYS = {
    'sent': ['event', 'message_id', 'campaign_id', 'tenant_id', 'recipient',
             'sender', 'sent_time', 'link_id', 'url', 'segments'],
    'delivery': ['event', 'message_id', 'campaign_id', 'tenant_id', 'status',
                 'error_code', 'receipt_time'],
    'click': ['event', 'message_id', 'campaign_id', 'tenant_id', 'link_id',
              'click_time', 'user_agent', 'ip'],
}


def check_sms(r):
    check(isinstance(r, dict), 'not an object')
    ev = r.get('event')
    check(ev in SMS_KEYS, 'event')
    check(list(r.keys()) == SMS_KEYS[ev], 'keys')
    check(isinstance(r['message_id'], str) and
          re.match(r'^SM[0-9a-f]{32}$', r['message_id']), 'message id')
    check(isinstance(r['campaign_id'], str) and
          re.match(r'^c[0-9]{4,}$', r['campaign_id']), 'campaign')
    check(isinstance(r['tenant_id'], str) and
          re.match(r'^t[0-9]{4,}$', r['tenant_id']), 'tenant')
    if ev == 'sent':
        check(isinstance(r['recipient'], str) and E164.match(r['recipient']),
              'recipient')
        check(isinstance(r['sender'], str) and r['sender'], 'sender')
        ms(r['sent_time'])
        check(isinstance(r['link_id'], str) and
              re.match(r'^[0-9A-Za-z]{7}$', r['link_id']), 'link')
        check(isinstance(r['url'], str) and
              r['url'].startswith('https://') and
              r['url'].endswith('/' + r['link_id']), 'url')
        check(is_int(r['segments']) and 1 <= r['segments'] <= 10, 'segments')
    elif ev == 'delivery':
        check(r['status'] in ('delivered', 'failed', 'expired'), 'status')
        if r['status'] == 'failed':
            check(is_int(r['error_code']) and r['error_code'] > 0, 'code')
        else:
            check(r['error_code'] is None, 'code')
        ms(r['receipt_time'])
    else:
        check(isinstance(r['link_id'], str) and
              re.match(r'^[0-9A-Za-z]{7}$', r['link_id']), 'link')
        ms(r['click_time'])
        check(isinstance(r['user_agent'], str) and r['user_agent'], 'ua')
        check(isinstance(r['ip'], str) and
              re.match(r'^[0-9a-f.:]+$', r['ip']), 'ip')


AGENT_KEYS = ['AgentId', 'OrgID', 'QueueId', 'WorkMode', 'WorkSkill',
              'HandleTime', 'ServiceLevel', 'WorkStates', 'WaitingTime',
              'EventTime']


def check_agent(r):
    check(isinstance(r, dict), 'not an object')
    check(list(r.keys()) == AGENT_KEYS, 'keys')
    check(isinstance(r['AgentId'], str) and
          re.match(r'^a[0-9]{5,}$', r['AgentId']), 'agent')
    check(isinstance(r['OrgID'], str) and
          re.match(r'^t[0-9]{4,}$', r['OrgID']), 'org')
    check(isinstance(r['QueueId'], str) and
          re.match(r'^q[0-9]{4,}$', r['QueueId']), 'queue')
    check(r['WorkMode'] in ('available', 'busy', 'wrapup', 'break',
                            'offline'), 'mode')
    check(isinstance(r['WorkSkill'], str) and r['WorkSkill'], 'skill')
    for k in ('HandleTime', 'WaitingTime'):
        check(is_int(r[k]) and r[k] >= 0, k)
    check(is_num(r['ServiceLevel']) and 0 <= r['ServiceLevel'] <= 1, 'sl')
    check(isinstance(r['WorkStates'], list) and
          all(isinstance(s, str) for s in r['WorkStates']), 'states')
    check((r['WorkMode'] == 'offline') == (r['WorkStates'] == []), 'states')
    ms(r['EventTime'])


def csv_records(data):
    """Strict RFC 4180: yields (start line, cells or None when broken)."""
    i, n, line = 0, len(data), 1
    while i < n:
        start, cells, cell, quoted, ok = line, [], bytearray(), False, True
        while True:
            if i >= n:
                cells.append((bytes(cell), quoted))
                break
            c = data[i]
            if c == 0x22 and not cell and not quoted:
                quoted = True
                i += 1
                while True:
                    if i >= n:
                        ok = False
                        break
                    if data[i] == 0x22:
                        if i + 1 < n and data[i + 1] == 0x22:
                            cell.append(0x22)
                            i += 2
                            continue
                        i += 1
                        break
                    if data[i] == 0x0a:
                        line += 1
                    cell.append(data[i])
                    i += 1
                if i < n and data[i] not in (0x2c, 0x0a):
                    ok = False
                continue
            if c == 0x2c:
                cells.append((bytes(cell), quoted))
                cell, quoted = bytearray(), False
                i += 1
                continue
            if c == 0x0a:
                cells.append((bytes(cell), quoted))
                i += 1
                line += 1
                break
            if c == 0x22 or c == 0x0d or quoted:
                ok = False
            if c == 0:
                ok = False
            cell.append(c)
            i += 1
        if ok:
            try:
                cells = [(b.decode('utf-8'), q) for b, q in cells]
            except UnicodeDecodeError:
                ok = False
        if ok and any('\0' in s for s, q in cells):
            ok = False
        yield start, (cells if ok else None)


def typed(text, quoted):
    """A CSV cell as the JSON value it stands for."""
    if not text and not quoted:
        return None
    if INT.match(text):
        return int(text)
    if NUM.match(text):
        return float(text)
    if text.startswith('['):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def row_to_record(header, cells):
    r = {}
    for name, (text, quoted) in zip(header, cells):
        v = typed(text, quoted)
        if name in ('event', 'message_id', 'campaign_id', 'tenant_id',
                    'call_id', 'caller', 'callee', 'link_id', 'sender',
                    'recipient', 'AgentId', 'OrgID', 'QueueId') and \
                isinstance(v, (int, float)):
            v = text
        if name.startswith('meta.'):
            if name == 'meta.notes' and v is None:
                continue
            r.setdefault('meta', {})[name[5:]] = v
        else:
            r[name] = v
    return r


def main():
    kind, fmt, path = sys.argv[1:4]
    check_one = {'calls': check_call, 'sms': check_sms,
                 'agent-states': check_agent}[kind]
    data = open(path, 'rb').read()
    bad = []
    if fmt == 'ndjson':
        lines = data.split(b'\n')
        check(lines[-1] == b'', 'no final newline')
        for no, raw in enumerate(lines[:-1], 1):
            try:
                text = raw.decode('utf-8')
                check('\0' not in text, 'nul')
                check_one(json.loads(text, object_pairs_hook=no_dups))
            except (Bad, ValueError, KeyError, TypeError):
                bad.append(no)
    else:
        recs = csv_records(data)
        _, head = next(recs)
        header = [s for s, q in head]
        for no, cells in recs:
            try:
                check(cells is not None and len(cells) == len(header), 'cells')
                r = row_to_record(header, cells)
                if kind == 'sms':
                    # Columns of other events are empty: drop them.
                    r = {k: v for k, v in r.items()
                         if k in SMS_KEYS.get(r.get('event'), [])}
                check_one(r)
            except (Bad, ValueError, KeyError, TypeError):
                bad.append(no)
    for no in bad:
        print(no)


main()
