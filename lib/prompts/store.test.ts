import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestContext, type TestContext } from '../../test/harness';
import { PROMPT_NAMES, type PromptSelection } from '../contracts';
import { AppError } from '../errors';
import { buildAnswerMessages } from '../rag/prompt';
import { buildJudgeMessages } from '../rag/judge';
import { DEFAULT_PROMPTS, STRICT_RULES } from './defaults';
import { addPromptVersion, listPrompts, resolvePrompts, setPromptLabel } from './store';

let ctx: TestContext;
afterAll(() => ctx?.close());
beforeAll(async () => {
  ctx = await setupTestContext();
});

const em = () => ctx.orm.em.fork();
const versions = async (tenantId: string, selection?: PromptSelection) =>
  Object.fromEntries(Object.values(await resolvePrompts(em(), tenantId, selection)).map((p) => [p!.name, p!.version]));
async function rejection(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('resolvePrompts', () => {
  it('resolves every name to the shipped version 1 for a tenant without versions of its own', async () => {
    const { id } = await ctx.addTenant();
    const set = await resolvePrompts(em(), id);
    expect(Object.keys(set)).toEqual([...PROMPT_NAMES]);
    for (const name of PROMPT_NAMES) expect(set[name]).toEqual({ name, version: 1, text: DEFAULT_PROMPTS[name] });
    // `production` without a row is version 1, asked for by name too.
    expect((await resolvePrompts(em(), id, { answer: 'production' })).answer!.version).toBe(1);
  });

  it('follows production, then a selected version or label; unknown ones are a 400 naming the prompt', async () => {
    const { id } = await ctx.addTenant();
    const v2 = await addPromptVersion(em(), { tenantId: id, name: 'judge', text: 'judge v2', actor: 't' });
    const v3 = await addPromptVersion(em(), {
      tenantId: id,
      name: 'judge',
      text: 'judge v3',
      labels: ['candidate'],
      actor: 't',
    });
    expect([v2.version, v3.version]).toEqual([2, 3]);
    await setPromptLabel(em(), { tenantId: id, name: 'judge', label: 'production', version: 2, actor: 't' });

    expect(await versions(id)).toMatchObject({ judge: 2, answer: 1, agent: 1 });
    expect((await resolvePrompts(em(), id)).judge!.text).toBe('judge v2');
    expect(await versions(id, { judge: 3 })).toMatchObject({ judge: 3 });
    expect(await versions(id, { judge: 'candidate' })).toMatchObject({ judge: 3 });
    expect(await versions(id, { judge: 1 })).toMatchObject({ judge: 1 });

    const unknownVersion = await rejection(resolvePrompts(em(), id, { judge: 4 }));
    expect(unknownVersion).toMatchObject({ status: 400, code: 'prompt_version_not_found' });
    expect(unknownVersion.message).toContain('judge');
    const unknownLabel = await rejection(resolvePrompts(em(), id, { rerank: 'candidate' }));
    expect(unknownLabel).toMatchObject({ status: 400, code: 'prompt_label_not_found' });
    expect(unknownLabel.message).toContain('rerank');
    const unknownName = await rejection(resolvePrompts(em(), id, { nope: 1 } as PromptSelection));
    expect(unknownName).toMatchObject({ status: 400, code: 'unknown_prompt' });

    // Removing production goes back to the shipped version.
    const removed = await setPromptLabel(em(), {
      tenantId: id,
      name: 'judge',
      label: 'production',
      version: null,
      actor: 't',
    });
    expect(removed.previousVersion).toBe(2);
    expect(await versions(id)).toMatchObject({ judge: 1 });
  });

  it("never reads another tenant's versions or labels", async () => {
    const a = await ctx.addTenant();
    const b = await ctx.addTenant();
    await addPromptVersion(em(), { tenantId: a.id, name: 'answer', text: 'a v2', labels: ['production'], actor: 't' });
    expect(await versions(a.id)).toMatchObject({ answer: 2 });
    expect(await versions(b.id)).toMatchObject({ answer: 1 });
    expect((await rejection(resolvePrompts(em(), b.id, { answer: 2 }))).code).toBe('prompt_version_not_found');
    const listed = (await listPrompts(em(), b.id)).find((p) => p.name === 'answer')!;
    expect(listed.versions.map((v) => v.version)).toEqual([1]);
  });
});

describe('prompt builders', () => {
  it('send the shipped text unless given another', () => {
    const passages = [{ n: 1, text: 'Protocol 5 is the default.' }];
    expect(buildAnswerMessages({ question: 'q', passages })[0]!.content).toBe(DEFAULT_PROMPTS.answer);
    expect(buildAnswerMessages({ question: 'q', passages, strict: true })[0]!.content).toBe(STRICT_RULES);
    const custom = buildAnswerMessages({ question: 'q', passages, system: 'custom' });
    expect(custom[0]!.content).toBe('custom');
    expect(custom[1]).toEqual(buildAnswerMessages({ question: 'q', passages })[1]);
    expect(buildJudgeMessages(['c'], [{ id: '1', text: 't' }])[0]!.content).toBe(DEFAULT_PROMPTS.judge);
    expect(buildJudgeMessages(['c'], [{ id: '1', text: 't' }], 'j')[0]!.content).toBe('j');
  });
});
