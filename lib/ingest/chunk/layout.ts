/** The document as one text (`documentText`), which chunk offsets index, and where each section sits in it. */
import { estimateTokens } from '../../llm/text';
import type { ParsedDocument } from '../parse';

/** Headings and sections are joined with this in `documentText`; chunk offsets count it. */
const SEPARATOR = '\n\n';

export interface SectionLayout {
  /** The heading lines shown before the section's text: `level` indexes its heading path. */
  headings: Array<{ level: number; start: number; end: number; tokens: number }>;
  /** Where `section.text` starts in `documentText`. */
  textStart: number;
}

/**
 * The document as one text, which chunk offsets index: each section's text, preceded by the headings it opens (the
 * part of its heading path not shared with the previous section's, one line each, whitespace collapsed), all parts
 * joined with a blank line. A section that continues its heading (the same path as the section before it) shows none.
 */
export function documentText(doc: ParsedDocument): string {
  return layoutDocument(doc).text;
}

export function layoutDocument(doc: ParsedDocument): { text: string; sections: SectionLayout[] } {
  const parts: string[] = [];
  let pos = 0;
  const add = (part: string): number => {
    if (parts.length > 0) pos += SEPARATOR.length;
    parts.push(part);
    const start = pos;
    pos += part.length;
    return start;
  };
  const sections = doc.sections.map((section, index): SectionLayout => {
    const prev = index > 0 ? doc.sections[index - 1]!.headingPath : [];
    const opened = index > 0 ? commonPrefixLength(prev, section.headingPath) : 0;
    const headings: SectionLayout['headings'] = [];
    for (let level = opened; level < section.headingPath.length; level++) {
      const line = section.headingPath[level]!.replace(/\s+/g, ' ').trim();
      if (line === '') continue;
      const start = add(line);
      headings.push({ level, start, end: start + line.length, tokens: estimateTokens(line) });
    }
    return { headings, textStart: add(section.text) };
  });
  return { text: parts.join(SEPARATOR), sections };
}

export const samePath = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && commonPrefixLength(a, b) === a.length;

export function commonPrefixLength(a: readonly string[], b: readonly string[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
