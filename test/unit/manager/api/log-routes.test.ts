import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logQuery } from '../../../../manager/api/log-routes';
import type { LogQuery } from '../../../../manager/logs/service-logs';
import { InvalidArgumentError } from '../../../../shared/errors';

const NOW = new Date(Date.UTC(2026, 11, 3, 12, 0, 0)); // 2026-12-03T12:00:00Z
const NONE: LogQuery = { follow: false, tail: -1, since: '', until: '' };
const q = (s: string) => logQuery(new URLSearchParams(s), NOW);

describe('logQuery', () => {
  const table: { query: string; want: Partial<LogQuery> }[] = [
    { query: '', want: {} },
    { query: 'follow=1', want: { follow: true } },
    { query: 'follow=true', want: { follow: true } },
    { query: 'follow=0', want: {} },
    { query: 'follow=false', want: {} },
    { query: 'follow=', want: {} },
    { query: 'tail=5', want: { tail: 5 } },
    { query: 'tail=0', want: { tail: 0 } },
    { query: 'tail=all', want: { tail: -1 } },
    { query: 'tail=', want: { tail: -1 } },
    { query: 'tail=-1', want: { tail: -1 } },
    { query: 'since=10m', want: { since: '2026-12-03T11:50:00.000000000Z' } },
    { query: 'since=2026-12-03', want: { since: '2026-12-03T00:00:00.000000000Z' } },
    { query: 'since=1764748800.25', want: { since: '2025-12-03T08:00:00.250000000Z' } },
    { query: 'until=2026-12-03T10%3A00%3A00%2B02%3A00', want: { until: '2026-12-03T08:00:00.000000000Z' } },
    { query: 'since=&until=', want: {} },
    { query: 'since=1h&until=30m', want: { since: '2026-12-03T11:00:00.000000000Z', until: '2026-12-03T11:30:00.000000000Z' } },
    { query: 'since=2026-12-03T08:00:00Z&until=2026-12-03T08:00:00Z', want: { since: '2026-12-03T08:00:00.000000000Z', until: '2026-12-03T08:00:00.000000000Z' } },
    {
      query: 'follow=1&tail=20&since=2026-12-03T11:00:00.5Z',
      want: { follow: true, tail: 20, since: '2026-12-03T11:00:00.500000000Z' },
    },
  ];
  for (const c of table) it(`${c.query || '(none)'} → ${JSON.stringify(c.want)}`, () => assert.deepEqual(q(c.query), { ...NONE, ...c.want }));

  it('the CLI’s query (cli/commands/logs.ts) reads back as it was meant', () => {
    const sent = new URLSearchParams({ follow: '1', tail: '3', since: '2026-12-03T11:50:00.000000000Z' });
    assert.deepEqual(logQuery(new URLSearchParams(sent.toString()), NOW), { follow: true, tail: 3, since: '2026-12-03T11:50:00.000000000Z', until: '' });
  });

  it('measures durations back from the real now by default', () => {
    const t = logQuery(new URLSearchParams('since=1h')).since;
    const ms = Date.parse(t);
    assert.ok(Math.abs(Date.now() - 3_600_000 - ms) < 10_000, t);
  });

  const bad: { query: string; message: RegExp }[] = [
    { query: 'tail=abc', message: /tail must be a number of lines or "all", got "abc"/ },
    { query: 'tail=1.5', message: /tail must be/ },
    { query: 'tail=-2', message: /tail must be/ },
    { query: 'tail=ALL', message: /tail must be/ },
    { query: 'tail=99999999999999999999', message: /tail must be/ },
    { query: 'since=yesterday', message: /since: "yesterday" is not a time/ },
    { query: 'until=10x', message: /until: "10x" is not a time/ },
    { query: 'since=2026-12-03T08:00:00', message: /since: .* is not a time/ },
    { query: 'since=2026-12-03T09:00:00Z&until=2026-12-03T08:00:00Z', message: /until is before since/ },
    { query: 'since=10m&until=1h', message: /until is before since/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.query}`, () => {
      assert.throws(
        () => q(c.query),
        (e: unknown) => e instanceof InvalidArgumentError && c.message.test(e.message),
      );
    });
  }
});
