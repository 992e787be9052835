import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, serializeError } from './log';

/** What pg's DatabaseError looks like after knex put the statement, values inlined, in front of its message. */
function databaseError() {
  return Object.assign(
    new Error(
      `insert into "collections" ("name") values ('SECRET') - duplicate key value violates unique constraint "collections_tenant_id_name_unique"`,
    ),
    {
      name: 'error',
      severity: 'ERROR',
      code: '23505',
      detail: 'Key (tenant_id, name)=(t, SECRET) already exists.',
      table: 'collections',
      constraint: 'collections_tenant_id_name_unique',
      routine: '_bt_check_unique',
    },
  );
}

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: createLogger('info', 'log-test', sink) };
}

describe('error logging', () => {
  it('logs a database error by code and constraint, without its statement, values or detail', () => {
    const { lines, log } = capture();
    log.error({ err: databaseError() }, 'request failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('SECRET');
    expect(lines[0]).not.toContain('insert into');
    const err = (JSON.parse(lines[0]!) as { err: Record<string, unknown> }).err;
    expect(err).toMatchObject({
      code: '23505',
      constraint: 'collections_tenant_id_name_unique',
      table: 'collections',
      routine: '_bt_check_unique',
    });
    expect(err.message).toBe(
      'database error 23505 on constraint collections_tenant_id_name_unique (statement and values not logged)',
    );
  });

  it('cuts a wrapper message that quotes the database error, keeps one that does not', () => {
    const db = databaseError();
    const quoting = serializeError(new Error(`ingest failed: ${db.message}`, { cause: db })) as {
      message: string;
      cause: { code: string };
    };
    expect(JSON.stringify(quoting)).not.toContain('SECRET');
    expect(quoting.cause.code).toBe('23505');
    const plain = serializeError(new Error('could not save', { cause: db })) as { message: string };
    expect(plain.message).toBe('could not save');
  });

  it('leaves other errors to pino (message, stack, own fields, causes)', () => {
    const err = Object.assign(new Error('boom', { cause: new Error('root') }), { code: 'ENOENT' });
    expect(serializeError(err)).toMatchObject({ type: 'Error', message: 'boom: root', code: 'ENOENT' });
  });
});
