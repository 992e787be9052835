import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded';

let server: EmbeddedPostgres;
let pool: pg.Pool;
beforeAll(async () => {
  server = await startEmbeddedPostgres({ port: 0 });
  pool = new pg.Pool({ connectionString: server.url, max: 8 });
});
afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

describe('embedded Postgres with many connections (PGlite is one session)', () => {
  it("keeps each connection's parameterised queries whole: every caller gets its own row back", async () => {
    // Each query with parameters is an extended-protocol batch (Parse, Bind, Describe, Execute, Sync); a batch with a
    // large parameter reaches the server in several reads, and batches of two connections that interleave in the
    // one session bind or run each other's statement.
    const values = Array.from({ length: 200 }, (_, i) => i);
    const got = await Promise.all(
      values.map((i) =>
        pool.query<{ n: number; tag: string; k: number }>(`select $1::int as n, left($2::text, 12) as tag, ${i} as k`, [
          i,
          `caller-${String(i).padStart(5, '0')}`.padEnd(i % 2 ? 200_000 : 20, '.'),
        ]),
      ),
    );
    expect(got.map((r) => r.rows[0])).toEqual(
      values.map((i) => ({ n: i, tag: `caller-${String(i).padStart(5, '0')}`, k: i })),
    );
  });

  it("keeps a connection's transaction whole while others query, and a failed statement fails alone", async () => {
    await pool.query('create table if not exists queue_probe (id int primary key, who text not null)');
    const writers = Array.from({ length: 12 }, async (_, w) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (let k = 0; k < 5; k++)
          await client.query('insert into queue_probe values ($1, $2)', [w * 100 + k, `w${w}`]);
        if (w % 3 === 0) {
          // A statement that fails inside the transaction: only this connection sees the error, then rolls back.
          await expect(client.query('insert into queue_probe values ($1, $2)', [w * 100, 'dup'])).rejects.toThrow(
            /duplicate key/,
          );
          await client.query('rollback');
        } else {
          await client.query('commit');
        }
      } finally {
        client.release();
      }
    });
    const readers = Array.from({ length: 40 }, (_, i) =>
      pool.query<{ n: number }>('select $1::int as n', [i]).then((r) => r.rows[0]!.n),
    );
    const [, read] = await Promise.all([Promise.all(writers), Promise.all(readers)]);
    expect(read).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const { rows } = await pool.query<{ who: string; n: number }>(
      'select who, count(*)::int as n from queue_probe group by who order by who',
    );
    const committed = Array.from({ length: 12 }, (_, w) => w).filter((w) => w % 3 !== 0);
    expect(rows).toEqual(committed.map((w) => ({ who: `w${w}`, n: 5 })).sort((a, b) => a.who.localeCompare(b.who)));
  });

  it('goes on serving others after a connection that owned the session goes away mid-transaction', async () => {
    const quitter = new pg.Client({ connectionString: server.url });
    quitter.on('error', () => {}); // the connection it is about to lose
    await quitter.connect();
    await quitter.query('begin');
    await quitter.query('select $1::int', [1]);
    // Gone without commit or rollback: its transaction must not hold everyone else.
    const ended = new Promise((r) => quitter.once('end', r));
    (quitter as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await ended;
    const { rows } = await pool.query<{ n: number }>('select $1::int as n', [42]);
    expect(rows[0]!.n).toBe(42);
  });
});
