/** DOCX → HTML (mammoth) → sections, through the HTML parser. */
import mammoth from 'mammoth';
import { parseHtml } from './html';
import { reason } from './text';
import { ParseError, type ParsedSection } from './types';

export async function parseDocx(bytes: Buffer): Promise<{ title?: string; sections: ParsedSection[] }> {
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: bytes },
      {
        styleMap: ["p[style-name='Title'] => h1:fresh", "p[style-name='Subtitle'] => p:fresh"],
        // Keep images' alt text, not their bytes.
        convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })),
        externalFileAccess: false,
      },
    );
    html = result.value;
  } catch (e) {
    throw new ParseError('corrupt', `The Word document is damaged and could not be read (${reason(e)}).`, { cause: e });
  }
  return parseHtml(`<!DOCTYPE html><html><body>${html}</body></html>`);
}
