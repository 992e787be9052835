/** PDF → one section per page (unpdf / pdf.js, loaded on first use). */
import { collapse, reason, tidy } from './text';
import { ParseError, type ParsedSection } from './types';

export async function parsePdf(bytes: Buffer): Promise<{ title?: string; sections: ParsedSection[] }> {
  // Every complete PDF ends with %%EOF (possibly followed by a little junk); pdf.js would otherwise quietly rebuild
  // what it can from a partial download.
  if (!bytes.subarray(Math.max(0, bytes.length - 16 * 1024)).includes('%%EOF')) {
    throw new ParseError(
      'corrupt',
      'The PDF appears to be truncated (its end-of-file marker is missing); upload the complete file.',
    );
  }
  const { getDocumentProxy } = await import('unpdf');
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0, isEvalSupported: false, stopAtErrors: false });
  } catch (e) {
    const name = (e as Error | undefined)?.name;
    if (name === 'PasswordException') {
      throw new ParseError(
        'corrupt',
        'The PDF is password-protected (encrypted); remove the password and upload it again.',
        { cause: e },
      );
    }
    throw new ParseError('corrupt', `The PDF is damaged and could not be read (${reason(e)}).`, { cause: e });
  }
  try {
    let title: string | undefined;
    try {
      const meta = await doc.getMetadata();
      const t = (meta.info as Record<string, unknown> | undefined)?.Title;
      if (typeof t === 'string' && collapse(t) !== '') title = collapse(t);
    } catch {
      // Metadata is optional.
    }
    const sections: ParsedSection[] = [];
    for (let page = 1; page <= doc.numPages; page++) {
      let raw = '';
      try {
        const content = await (await doc.getPage(page)).getTextContent();
        for (const item of content.items) {
          if ('str' in item) raw += item.str + (item.hasEOL ? '\n' : '');
        }
      } catch (e) {
        throw new ParseError('corrupt', `Page ${page} of the PDF is damaged and could not be read (${reason(e)}).`, {
          cause: e,
        });
      }
      const text = tidy(
        raw
          .replaceAll('\u0000', '')
          .split('\n')
          .map((l) => l.replace(/[ \t\u00a0]+/g, ' ').trim())
          .join('\n'),
      );
      if (text !== '') sections.push({ text, headingPath: [], page });
    }
    return { ...(title ? { title } : {}), sections };
  } finally {
    await doc.destroy().catch(() => undefined);
  }
}
