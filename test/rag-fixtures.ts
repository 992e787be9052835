import type { startTestApi, TestContext } from './harness';

/** A small knowledge base with specific, checkable facts (numbers, names, negations) in separate documents. */
export const CORPUS: Record<string, string> = {
  'pickle.md': `# pickle — Python object serialization

The pickle module implements binary protocols for serializing and de-serializing a Python object structure.

## Protocols

The default pickle protocol in Python 3.11 is protocol 5. Protocol 5 was added in Python 3.8 and supports out-of-band data.

## Security

The pickle module is not secure. Only unpickle data you trust.
`,
  'json.md': `# json — JSON encoder and decoder

The json module exposes an API familiar to users of the marshal and pickle modules.

## Basic usage

json.dumps serializes an object to a JSON formatted str. json.loads deserializes a str containing a JSON document to a Python object.

## Options

The indent parameter pretty-prints with that indent level. By default, json.dumps uses separators of ", " and ": ".
`,
  'asyncio.md': `# asyncio — Asynchronous I/O

asyncio is a library to write concurrent code using the async/await syntax.

## Tasks

asyncio.gather runs awaitable objects concurrently and returns an aggregate list of results in the order of the awaitables.

## Timeouts

asyncio.timeout was added in Python 3.11 and is an asynchronous context manager that cancels the block after a delay.
`,
};

type Api = Awaited<ReturnType<typeof startTestApi>>;

/** Creates a collection, uploads the corpus through the API and waits for its ingest run. */
export async function ingestCorpus(
  ctx: TestContext,
  api: Api,
  opts: { key?: string; corpus?: Record<string, string>; body?: Record<string, unknown> } = {},
) {
  const key = opts.key ?? ctx.tenant.key;
  // One chunk per section (no packing): these tests cite and search at the level of a section's heading.
  const created = await api.request('POST', '/v1/collections', {
    key,
    body: { name: `kb-${crypto.randomUUID().slice(0, 8)}`, combineSections: false, ...opts.body },
  });
  if (created.status !== 201) throw new Error(`collection: ${created.status} ${JSON.stringify(created.body)}`);
  const collectionId = created.body!.id as string;
  const form = new FormData();
  for (const [name, text] of Object.entries(opts.corpus ?? CORPUS)) form.append('file', new Blob([text]), name);
  const res = await fetch(`${api.base}/v1/collections/${collectionId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  const body = (await res.json()) as { workflowId: string };
  if (res.status !== 202 && res.status !== 200 && res.status !== 201)
    throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
  const progress = (await ctx.client.workflow.getHandle(body.workflowId).result()) as { failed: number; done: number };
  if (progress.failed) throw new Error(`ingest failed: ${JSON.stringify(progress)}`);
  return collectionId;
}
