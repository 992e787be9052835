import type { buildOpenApiDocument } from './document';

type Document = ReturnType<typeof buildOpenApiDocument>;
type Json = Record<string, unknown>;

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** Inline code spans of the summaries and descriptions, after escaping. */
const text = (s: string | undefined) => escape(s ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
const schemaBlock = (schema: unknown) =>
  schema === undefined ? '' : `<pre>${escape(JSON.stringify(schema, null, 2))}</pre>`;

/**
 * The API reference: a self-contained page rendered on the server from the OpenAPI document (no script, nothing
 * loaded from elsewhere), one section per operation, grouped by tag.
 */
export function referencePage(doc: Document): string {
  const byTag = new Map<string, string[]>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item as Record<string, Json>)) {
      const tag = ((op.tags as string[] | undefined) ?? ['other'])[0]!;
      const params = ((op.parameters as Json[] | undefined) ?? [])
        .map(
          (p) =>
            `<li><code>${escape(String(p.name))}</code> (${escape(String(p.in))}) ${text(p.description as string)}</li>`,
        )
        .join('');
      const body = (op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
      const responses = Object.entries((op.responses as Record<string, Json>) ?? {})
        .map(([status, r]) => `<li><b>${escape(status)}</b> ${text(r.description as string)}</li>`)
        .join('');
      const id = escape(String(op.operationId));
      byTag.set(tag, [
        ...(byTag.get(tag) ?? []),
        `<section id="${id}"><h3><span class="m m-${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h3>
<p>${text(op.summary as string)}. ${text(op.description as string)}</p>
${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}
${
  body
    ? Object.entries(body)
        .map(([type, media]) => `<h4>Body (${escape(type)})</h4>${schemaBlock(media.schema)}`)
        .join('')
    : ''
}
<h4>Responses</h4><ul>${responses}</ul></section>`,
      ]);
    }
  }
  const toc = [...byTag.keys()].map((t) => `<a href="#tag-${escape(t)}">${escape(t)}</a>`).join(' · ');
  const sections = [...byTag.entries()]
    .map(([tag, ops]) => `<h2 id="tag-${escape(tag)}">${escape(tag)}</h2>${ops.join('\n')}`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(doc.info.title)} reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1f2328}
code,pre{font:13px ui-monospace,monospace}pre{background:#f6f8fa;padding:.75rem;overflow:auto;max-height:24rem}
section{border-top:1px solid #d0d7de;padding:.5rem 0}h3{margin:.5rem 0}.m{display:inline-block;min-width:4.5rem;font-size:13px}
.m-get{color:#0969da}.m-post{color:#1a7f37}.m-put,.m-patch{color:#9a6700}.m-delete{color:#cf222e}
</style></head><body>
<h1>${escape(doc.info.title)} <small>${escape(doc.info.version)}</small></h1>
<p>${text(doc.info.description)}</p>
<p>The machine-readable document: <a href="/v1/openapi.json"><code>/v1/openapi.json</code></a> (OpenAPI 3.1).</p>
<h4>Error shape</h4>${schemaBlock(doc.components?.schemas?.Error)}
<nav>${toc}</nav>
${sections}
</body></html>`;
}
