import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { estimateTokens, splitSentences } from '../../llm/text';
import { chunkDocument, contextualText, documentText, type ChunkOptions, type DocumentChunk } from './index';

type Doc = Parameters<typeof chunkDocument>[0];

const REAL_TEXT: Doc = {
  format: 'markdown',
  title: 'Lighthouses',
  sections: [
    {
      headingPath: ['Lighthouses'],
      page: 1,
      text:
        'A lighthouse is a tower built to guide ships safely past dangerous coasts, reefs and harbour entrances. ' +
        'For most of history the light came from an open fire, and keeping it burning through a winter storm was ' +
        'hard, dirty and sometimes deadly work.',
    },
    {
      headingPath: ['Lighthouses', 'Early lights'],
      page: 1,
      text:
        'The Pharos of Alexandria, finished around 280 BC, is the best known of the ancient lights. Writers of the ' +
        'time claimed that its fire could be seen from far out at sea, although such reports were probably ' +
        'exaggerated. The Romans built smaller towers along the coasts of their empire, and a few of them, such as ' +
        'the Tower of Hercules in Spain, still stand today.\n\n' +
        'After the fall of Rome, lights became rare. Monks sometimes kept lamps burning on dangerous headlands, ' +
        'and some port towns paid a keeper to tend a beacon, but there was no system and no money to maintain one. ' +
        'Ships relied on local pilots who knew the channels by heart.\n\n' +
        'Things changed slowly from the sixteenth century onward, when trade grew and governments began to charge ' +
        'ships light dues. The money paid for new towers and for keepers who lived beside them with their families.',
    },
    {
      headingPath: ['Lighthouses', 'The Fresnel lens'],
      page: 2,
      text:
        'In 1822 the French physicist Augustin Fresnel described a lens made of concentric rings of glass prisms. ' +
        'A conventional lens strong enough to focus a lighthouse lamp would have been enormously thick and heavy, ' +
        'but the rings bent the light just as well with a fraction of the glass. A good Fresnel lens could send a ' +
        'beam more than twenty miles.\n\n' +
        'Lenses were graded by order, from the huge first-order lenses used on major coastal lights to the small ' +
        'sixth-order lenses used in harbours. Many were made in Paris and shipped around the world, and some of them ' +
        'are still in service after more than a century.\n\n' +
        'Rotating the lens gave each light a signature. Sailors could recognise a station by its pattern of flashes, ' +
        'which was printed in the official light lists, and so know where they were even on the darkest night.',
    },
    {
      headingPath: ['Lighthouses', 'Keepers'],
      page: 2,
      text:
        "A keeper's day was ruled by the lamp. Wicks had to be trimmed, oil carried up the stairs, and the glass " +
        'polished until not a single smear could dim the beam. Logbooks recorded the weather, passing ships and ' +
        'every hour the light was lit.\n\n' +
        'Isolation was the hardest part of the job. On rock stations far from shore, supply boats could be delayed ' +
        'for weeks by bad weather, and keepers learned to ration food and fuel. Many of them kept gardens, fished, ' +
        'or carved models to pass the long evenings.',
    },
    {
      headingPath: ['Lighthouses', 'Automation'],
      page: 3,
      text:
        'During the twentieth century electric lamps replaced oil, and automatic switches made resident keepers ' +
        'unnecessary. The last keepers left most stations before the end of the century. Today many lighthouses ' +
        'are museums, and satellite navigation has taken over much of their work, yet their lights still turn ' +
        'every night as a backup for ships whose electronics fail.\n\n' +
        'Preservation groups now look after many of the old towers. Volunteers repaint the walls, repair the ' +
        'lantern rooms and guide visitors up the narrow stairs, so that the buildings survive even where the ' +
        'light itself has been switched off for good.',
    },
  ],
};

const OPTS: ChunkOptions = { chunkSize: 200, chunkOverlap: 40 };

/** documentText by its documented rule: each section's text after the headings it opens, parts joined by a blank line. */
function layoutOf(doc: Doc) {
  const parts: string[] = [];
  const sections: Array<{
    textStart: number;
    textEnd: number;
    headings: Array<{ level: number; start: number; end: number }>;
  }> = [];
  let pos = -2;
  const add = (part: string) => {
    pos += 2;
    parts.push(part);
    const start = pos;
    pos += part.length;
    return start;
  };
  doc.sections.forEach((section, i) => {
    const prev = i > 0 ? doc.sections[i - 1]!.headingPath : [];
    let shared = 0;
    while (
      i > 0 &&
      shared < prev.length &&
      shared < section.headingPath.length &&
      prev[shared] === section.headingPath[shared]
    )
      shared++;
    const headings = [];
    for (let level = shared; level < section.headingPath.length; level++) {
      const line = section.headingPath[level]!.replace(/\s+/g, ' ').trim();
      if (line) {
        const start = add(line);
        headings.push({ level, start, end: start + line.length });
      }
    }
    const textStart = add(section.text);
    sections.push({ textStart, textEnd: textStart + section.text.length, headings });
  });
  return { text: parts.join('\n\n'), sections };
}

const commonPath = (paths: string[][]) => {
  const [first = [], ...rest] = paths;
  let n = first.length;
  for (const p of rest) {
    let k = 0;
    while (k < n && k < p.length && p[k] === first[k]) k++;
    n = k;
  }
  return first.slice(0, n);
};

/** Every structural property that must hold for any document and options. */
function checkInvariants(doc: Doc, chunks: DocumentChunk[], opts: ChunkOptions, requireOverlap = true) {
  const layout = layoutOf(doc);
  const full = documentText(doc);
  expect(full).toBe(layout.text);
  // The sections whose text a chunk covers (a chunk that starts on a heading line belongs to the section after it).
  const sectionsOf = (c: DocumentChunk) =>
    layout.sections.flatMap((s, i) =>
      s.textEnd > c.startOffset && s.textStart < c.endOffset && doc.sections[i]!.text.trim() ? [i] : [],
    );
  const single = (c: DocumentChunk) =>
    sectionsOf(c).length === 1 && c.startOffset >= layout.sections[sectionsOf(c)[0]!]!.textStart;
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(full.slice(c.startOffset, c.endOffset)).toBe(c.text);
    expect(c.text).toBe(c.text.trim());
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.tokens).toBe(estimateTokens(c.text));
    expect(c.tokens).toBeLessThanOrEqual(opts.chunkSize);
    const covered = sectionsOf(c);
    expect(covered.length).toBeGreaterThan(0);
    if (single(c)) {
      const s = covered[0]!;
      expect(c.endOffset).toBeLessThanOrEqual(layout.sections[s]!.textEnd); // within its section
      expect(c.headingPath).toEqual(doc.sections[s]!.headingPath);
      expect(c.page).toBe(doc.sections[s]!.page ?? null);
    } else {
      // Packed: whole sections only (allowed only when combining), one page, their common heading path, and every
      // heading below that path inside the text.
      expect(opts.combineSections ?? true).toBe(true);
      for (const s of covered) {
        expect(doc.sections[s]!.text.trim()).not.toBe('');
        expect(c.text).toContain(doc.sections[s]!.text.trim());
        expect(doc.sections[s]!.page ?? null).toBe(c.page);
      }
      const path = commonPath(covered.map((s) => doc.sections[s]!.headingPath));
      expect(c.headingPath).toEqual(path);
      // A later section under other headings than the one before it starts with a heading line inside the chunk.
      for (const s of covered.slice(1)) {
        if (doc.sections[s]!.headingPath.join('\u0000') !== doc.sections[s - 1]!.headingPath.join('\u0000')) {
          expect(layout.sections[s]!.headings.length, `section ${s} in chunk ${i} shows its heading`).toBeGreaterThan(
            0,
          );
        }
      }
      const shown = new Set(
        covered.flatMap((s) =>
          layout.sections[s]!.headings.filter((h) => h.start >= c.startOffset).map((h) => `${s}:${h.level}`),
        ),
      );
      for (const s of covered) {
        for (let level = path.length; level < doc.sections[s]!.headingPath.length; level++) {
          if (!doc.sections[s]!.headingPath[level]!.trim()) continue;
          // Shown with this section or with an earlier section of the chunk that shares the heading.
          const owner = covered.find(
            (o) =>
              o <= s &&
              shown.has(`${o}:${level}`) &&
              doc.sections[o]!.headingPath.slice(0, level + 1).join('\u0000') ===
                doc.sections[s]!.headingPath.slice(0, level + 1).join('\u0000'),
          );
          expect(owner, `heading ${level} of section ${s} in chunk ${i}`).toBeDefined();
        }
      }
    }
    const prev = chunks[i - 1];
    if (prev) {
      expect(c.startOffset).toBeGreaterThan(prev.startOffset);
      expect(c.endOffset).toBeGreaterThan(prev.endOffset);
      if (single(prev) && single(c) && sectionsOf(prev)[0] === sectionsOf(c)[0]) {
        if (opts.chunkOverlap > 0 && (requireOverlap || c.startOffset < prev.endOffset)) {
          // The next chunk starts with text from the end of the previous one, at most half of either.
          expect(c.startOffset).toBeLessThan(prev.endOffset);
          const shared = full.slice(c.startOffset, prev.endOffset);
          expect(prev.text.endsWith(shared)).toBe(true);
          expect(c.text.startsWith(shared)).toBe(true);
          expect(estimateTokens(shared)).toBeLessThanOrEqual(
            Math.min(opts.chunkOverlap, prev.tokens / 2, c.tokens / 2),
          );
        } else {
          expect(c.startOffset).toBeGreaterThanOrEqual(prev.endOffset);
        }
      } else {
        expect(c.startOffset).toBeGreaterThanOrEqual(prev.endOffset); // no overlap across sections
      }
    }
  });
  // Nothing but whitespace and heading lines is left out.
  const covered = new Uint8Array(full.length);
  for (const c of chunks) covered.fill(1, c.startOffset, c.endOffset);
  for (const s of layout.sections) for (const h of s.headings) covered.fill(1, h.start, h.end);
  for (let i = 0; i < full.length; i++) if (!covered[i]) expect(full[i]).toMatch(/\s/);
}

/** Sentences of 8-14 words, deterministic. */
function prose(sentences: number, seed = 1): string {
  const words = 'the river keeper walked along quiet harbour stones while evening light faded over distant hills'.split(
    ' ',
  );
  let x = seed;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const n = 8 + (next() % 7);
    const w = Array.from({ length: n }, () => words[next() % words.length]!);
    out.push(`${w[0]!.charAt(0).toUpperCase()}${w[0]!.slice(1)} ${w.slice(1).join(' ')}.`);
  }
  return out.join(' ');
}

describe('chunkDocument options', () => {
  const doc: Doc = { format: 'text', sections: [{ text: 'Hello world.', headingPath: [] }] };
  it.each([
    [{ chunkSize: 15, chunkOverlap: 0 }, /chunkSize/],
    [{ chunkSize: 8193, chunkOverlap: 0 }, /chunkSize/],
    [{ chunkSize: 100.5, chunkOverlap: 0 }, /chunkSize/],
    [{ chunkSize: Number.NaN, chunkOverlap: 0 }, /chunkSize/],
    [{ chunkSize: 200, chunkOverlap: -1 }, /chunkOverlap/],
    [{ chunkSize: 200, chunkOverlap: 100 }, /chunkOverlap/],
    [{ chunkSize: 17, chunkOverlap: 9 }, /chunkOverlap/],
  ])('rejects %j', (opts, message) => {
    expect(() => chunkDocument(doc, opts)).toThrow(RangeError);
    expect(() => chunkDocument(doc, opts)).toThrow(message);
  });

  it('accepts the bounds', () => {
    expect(chunkDocument(doc, { chunkSize: 16, chunkOverlap: 7 })).toHaveLength(1);
    expect(chunkDocument(doc, { chunkSize: 8192, chunkOverlap: 4095 })).toHaveLength(1);
    expect(chunkDocument(doc, { chunkSize: 200, chunkOverlap: 99 })).toHaveLength(1);
  });
});

describe('chunkDocument', () => {
  it('chunks real prose with headings into sensible pieces', () => {
    const full = documentText(REAL_TEXT);
    const total = estimateTokens(full);
    expect(full.length).toBeGreaterThan(2900);

    // 200/40: every section fits, so one chunk per section, verbatim.
    const chunks = chunkDocument(REAL_TEXT, OPTS);
    checkInvariants(REAL_TEXT, chunks, OPTS);
    console.log(
      `real text 200/40: ${total} tokens → ${chunks.length} chunks (${chunks.map((c) => c.tokens).join(', ')})`,
    );
    expect(chunks.map((c) => c.text)).toEqual(REAL_TEXT.sections.map((s) => s.text));
    expect(chunks.map((c) => c.page)).toEqual([1, 1, 2, 2, 3]);

    // 100/20: the long sections split, at paragraph breaks, with overlap.
    const opts = { chunkSize: 100, chunkOverlap: 20 };
    const small = chunkDocument(REAL_TEXT, opts);
    checkInvariants(REAL_TEXT, small, opts);
    console.log(
      `real text 100/20: ${total} tokens → ${small.length} chunks (${small.map((c) => c.tokens).join(', ')})`,
    );
    expect(small.length).toBeGreaterThanOrEqual(Math.ceil(total / 100) + 2);
    expect(small.length).toBeLessThanOrEqual(Math.ceil(total / 40));
    expect(small.map((c) => c.headingPath.at(-1))).toEqual([
      'Lighthouses',
      ...Array<string>(3).fill('Early lights'),
      ...Array<string>(3).fill('The Fresnel lens'),
      'Keepers',
      'Keepers',
      'Automation',
      'Automation',
    ]);
    for (const c of small) {
      expect(c.text).toMatch(/\.$/);
      expect(['\n\n', '']).toContain(full.slice(c.endOffset, c.endOffset + 2)); // a paragraph or section end
      expect(c.tokens).toBeGreaterThanOrEqual(50);
    }
    // Where a whole sentence fits in the overlap, the overlap is that sentence.
    expect(small[3]!.text).toMatch(/^Ships relied on local pilots who knew the channels by heart\.\n\nThings changed/);
  });

  it('carries heading paths and pages, and produces nothing for empty or blank sections', () => {
    const doc: Doc = {
      format: 'pdf',
      sections: [
        { text: '', headingPath: ['Empty'] },
        { text: '  First section text.  ', headingPath: ['A'], page: 4 },
        { text: ' \n\t\n ', headingPath: ['Blank'], page: 5 },
        { text: 'Second section.', headingPath: ['A', 'B'] },
      ],
    };
    const chunks = chunkDocument(doc, OPTS);
    checkInvariants(doc, chunks, OPTS);
    // Different pages: not packed. Each section's text follows the headings it opens.
    expect(chunks.map((c) => [c.text, c.headingPath, c.page, c.startOffset])).toEqual([
      ['First section text.', ['A'], 4, 14],
      ['Second section.', ['A', 'B'], null, 57],
    ]);
    expect(documentText(doc)).toBe(
      'Empty\n\n\n\nA\n\n  First section text.  \n\nBlank\n\n \n\t\n \n\nA\n\nB\n\nSecond section.',
    );
    expect(chunkDocument({ format: 'text', sections: [] }, OPTS)).toEqual([]);
  });

  it('overlaps consecutive chunks of one section but never across sections', () => {
    const doc: Doc = {
      format: 'text',
      sections: [
        { text: prose(60, 1), headingPath: ['One'] },
        { text: prose(60, 2), headingPath: ['Two'] },
      ],
    };
    const opts = { chunkSize: 100, chunkOverlap: 30 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    const one = chunks.filter((c) => c.headingPath[0] === 'One');
    const two = chunks.filter((c) => c.headingPath[0] === 'Two');
    expect(one.length).toBeGreaterThan(4);
    expect(two.length).toBeGreaterThan(4);
    for (const [a, b] of [one, two].flatMap((cs) => cs.slice(1).map((c, i) => [cs[i]!, c] as const))) {
      const shared = a.endOffset - b.startOffset;
      expect(shared).toBeGreaterThan(0);
      expect(estimateTokens(b.text.slice(0, shared))).toBeGreaterThanOrEqual(15); // about chunkOverlap
    }
    expect(two[0]!.startOffset).toBe(one.at(-1)!.endOffset + '\n\nTwo\n\n'.length);

    // Without overlap the chunks tile the text.
    const none = chunkDocument(doc, { chunkSize: 100, chunkOverlap: 0 });
    checkInvariants(doc, none, { chunkSize: 100, chunkOverlap: 0 });
    expect(none.length).toBeLessThan(chunks.length);
  });

  it('packs consecutive short sections into one chunk under their common heading path, headings kept in the text', () => {
    const fn = (name: string, text: string) => ({ headingPath: ['os.path', name], text });
    const doc: Doc = {
      format: 'html',
      sections: [
        { headingPath: ['os.path'], text: 'This module implements some useful functions on pathnames.' },
        fn('os.path.abspath(path)', 'Return a normalized absolutized version of the pathname path.'),
        fn('os.path.basename(path)', 'Return the base name of pathname path.'),
        fn('os.path.dirname(path)', 'Return the directory name of pathname path.'),
        { headingPath: ['os.path', 'Long'], text: prose(40, 3) },
        fn('os.path.exists(path)', 'Return True if path refers to an existing path.'),
        {
          headingPath: ['os.path', 'os.path.isdir(path)'],
          text: 'Return True if path is an existing directory.',
          page: 2,
        },
      ],
    };
    const opts = { chunkSize: 120, chunkOverlap: 20 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    // The first four sections fit in one chunk; the long one is split on its own; a page change ends packing.
    expect(chunks[0]!.headingPath).toEqual(['os.path']);
    expect(chunks[0]!.text).toBe(
      'This module implements some useful functions on pathnames.\n\n' +
        'os.path.abspath(path)\n\nReturn a normalized absolutized version of the pathname path.\n\n' +
        'os.path.basename(path)\n\nReturn the base name of pathname path.\n\n' +
        'os.path.dirname(path)\n\nReturn the directory name of pathname path.',
    );
    const long = chunks.filter((c) => c.headingPath.at(-1) === 'Long');
    expect(long.length).toBeGreaterThan(1);
    expect(chunks.slice(1 + long.length).map((c) => [c.headingPath, c.text, c.page])).toEqual([
      [['os.path', 'os.path.exists(path)'], 'Return True if path refers to an existing path.', null],
      [['os.path', 'os.path.isdir(path)'], 'Return True if path is an existing directory.', 2],
    ]);
    // Packed from the second section on, the chunk starts at that section's heading, which its path no longer holds.
    const fromSecond = chunkDocument({ ...doc, sections: doc.sections.slice(1, 4) }, opts);
    checkInvariants({ ...doc, sections: doc.sections.slice(1, 4) }, fromSecond, opts);
    expect(fromSecond).toHaveLength(1);
    expect(fromSecond[0]!.headingPath).toEqual(['os.path']);
    expect(fromSecond[0]!.text.startsWith('os.path.abspath(path)\n\nReturn a normalized')).toBe(true);
    expect(fromSecond[0]!.startOffset).toBe('os.path\n\n'.length);
    expect(contextualText(fromSecond[0]!)).toBe(`os.path\n\n${fromSecond[0]!.text}`);

    // combineSections: false is one chunk per section again; combineUnder stops a chunk once it holds that many tokens.
    const apart = chunkDocument(doc, { ...opts, combineSections: false });
    checkInvariants(doc, apart, { ...opts, combineSections: false });
    expect(apart.filter((c) => c.headingPath.at(-1) !== 'Long').map((c) => c.headingPath.at(-1))).toEqual(
      doc.sections.filter((x) => x.headingPath.at(-1) !== 'Long').map((x) => x.headingPath.at(-1)),
    );
    const under = chunkDocument(doc, { ...opts, combineUnder: 20 });
    checkInvariants(doc, under, { ...opts, combineUnder: 20 });
    expect(under[0]!.text).toMatch(/^This module[^]*os\.path\.abspath\(path\)[^]*pathname path\.$/);
    expect(under[1]!.text).toMatch(/^os\.path\.basename\(path\)/);
    expect(under.length).toBeGreaterThan(chunks.length);
  });

  it('does not pack a section whose heading was shown earlier, when the common path would drop it', () => {
    const doc: Doc = {
      format: 'markdown',
      sections: [
        { headingPath: ['A', 'B'], text: prose(30, 1) }, // long: several chunks of its own
        { headingPath: ['A', 'B', 'C'], text: 'Short text under C.' }, // shows only "C"; "B" was shown before
        { headingPath: ['A', 'D'], text: 'Short text under D.' },
      ],
    };
    const opts = { chunkSize: 100, chunkOverlap: 10 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    expect(chunks.slice(-2).map((c) => [c.headingPath, c.text])).toEqual([
      [['A', 'B', 'C'], 'Short text under C.'],
      [['A', 'D'], 'Short text under D.'],
    ]);
    // A section that goes back to an enclosing heading is not packed under the section before it.
    const back: Doc = {
      format: 'html',
      sections: [
        { headingPath: ['A', 'B', 'C'], text: 'one.' },
        { headingPath: ['A'], text: 'two.' },
        { headingPath: ['A', 'B', 'C'], text: 'three.' },
      ],
    };
    const backChunks = chunkDocument(back, { chunkSize: 64, chunkOverlap: 0 });
    checkInvariants(back, backChunks, { chunkSize: 64, chunkOverlap: 0 });
    expect(backChunks.map((c) => [c.headingPath, c.text])).toEqual([
      [['A', 'B', 'C'], 'one.'],
      [['A'], 'two.\n\nB\n\nC\n\nthree.'],
    ]);
    // Blank headings show nothing and lose nothing.
    const blank: Doc = {
      format: 'html',
      sections: [
        { headingPath: ['A', ' '], text: 'Under a blank heading.' },
        { headingPath: ['A', 'B'], text: 'Under B.' },
      ],
    };
    const blankChunks = chunkDocument(blank, opts);
    checkInvariants(blank, blankChunks, opts);
    expect(blankChunks.map((c) => [c.headingPath, c.text])).toEqual([
      [['A'], 'Under a blank heading.\n\nB\n\nUnder B.'],
    ]);
    // With the text of B short enough, B, C and D pack: every heading below A is in the text.
    const short: Doc = {
      ...doc,
      sections: [{ headingPath: ['A', 'B'], text: 'Short text under B.' }, ...doc.sections.slice(1)],
    };
    const packed = chunkDocument(short, opts);
    checkInvariants(short, packed, opts);
    expect(packed.map((c) => [c.headingPath, c.text])).toEqual([
      [['A'], 'B\n\nShort text under B.\n\nC\n\nShort text under C.\n\nD\n\nShort text under D.'],
    ]);
  });

  it('splits a long paragraph without newlines at sentence boundaries', () => {
    const text = prose(200, 7);
    expect(text).not.toContain('\n');
    const doc: Doc = { format: 'text', sections: [{ text, headingPath: ['Long'] }] };
    const opts = { chunkSize: 120, chunkOverlap: 20 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(estimateTokens(text) / 120));
    const sentenceStarts = new Set(splitSentences(text).map((s) => s.start));
    const sentenceEnds = new Set(splitSentences(text).map((s) => s.end));
    const base = 'Long\n\n'.length; // the heading line before the text
    for (const c of chunks) {
      expect(sentenceStarts.has(c.startOffset - base)).toBe(true);
      expect(sentenceEnds.has(c.endOffset - base)).toBe(true);
      expect(c.tokens).toBeGreaterThan(60);
    }
  });

  it('prefers paragraph breaks and sentence-final line breaks over breaks inside hard-wrapped sentences', () => {
    // Hard-wrapped prose: lines of about 70 characters, most of them ending inside a sentence.
    const wrap = (t: string) => t.replace(/(.{50,70}?) /g, '$1\n');
    const text = [prose(12, 3), prose(30, 4), prose(12, 5)].map(wrap).join('\n\n');
    const doc: Doc = { format: 'text', sections: [{ text, headingPath: [] }] };
    const opts = { chunkSize: 150, chunkOverlap: 0 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.text).toMatch(/\.$/);
  });

  it('still splits a 20 KB string without spaces (character fallback) within size', () => {
    let text = '';
    for (let i = 0; text.length < 20_000; i++) text += `segment${i}_${(i * 7919).toString(36)}/`;
    expect(text).not.toMatch(/\s/);
    const doc: Doc = { format: 'text', sections: [{ text, headingPath: ['Blob'] }] };
    for (const opts of [OPTS, { chunkSize: 16, chunkOverlap: 0 }, { chunkSize: 64, chunkOverlap: 31 }]) {
      const chunks = chunkDocument(doc, opts);
      checkInvariants(doc, chunks, opts);
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(estimateTokens(text) / opts.chunkSize));
      // Packed reasonably: at least half full (the last one aside).
      for (const c of chunks.slice(0, -1)) expect(c.tokens).toBeGreaterThanOrEqual(opts.chunkSize / 2);
    }
    // Letters only: each chunk is exactly chunkSize tokens of 8 letters each.
    const letters = 'abcdefghij'.repeat(2000);
    const letterDoc: Doc = { format: 'text', sections: [{ text: letters, headingPath: [] }] };
    const chunks = chunkDocument(letterDoc, OPTS);
    checkInvariants(letterDoc, chunks, OPTS);
    expect(chunks.slice(0, -1).every((c) => c.tokens >= 160)).toBe(true);
  });

  it('never splits a surrogate pair and handles CJK without spaces', () => {
    const emoji = '😀'.repeat(3000); // each is one token
    const cjk = '東京は日本の首都である。'.repeat(300);
    const doc: Doc = {
      format: 'text',
      sections: [
        { text: emoji, headingPath: ['Emoji'] },
        { text: cjk, headingPath: ['CJK'] },
      ],
    };
    const opts = { chunkSize: 64, chunkOverlap: 16 };
    const chunks = chunkDocument(doc, opts);
    checkInvariants(doc, chunks, opts);
    for (const c of chunks) {
      expect(c.text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
    // CJK sentences: every chunk ends at 。
    for (const c of chunks.filter((c) => c.headingPath[0] === 'CJK')) expect(c.text.endsWith('。')).toBe(true);
  });

  it('keeps every invariant on random documents and options', () => {
    const parts = ['a', 'word', 'Sentence', 'extraordinarily', '. ', '! ', ' ', ' ', '\n', '\n\n', '\r\n', '- ', '# '];
    parts.push('Dr. ', 'e.g. ', '3.11', '😀', '東京', '。', ',', '\t', 'x'.repeat(40), ':', 'e\u0301');
    let seed = 42;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let iter = 0; iter < 300; iter++) {
      const sections = Array.from({ length: 1 + rnd(4) }, () => ({
        text: Array.from({ length: rnd(4) === 0 ? rnd(20) : rnd(600) }, () => parts[rnd(parts.length)]).join(''),
        headingPath: Array.from({ length: rnd(4) }, () => ['h0', 'h1', ' ', 'two  words'][rnd(4)]!),
        ...(rnd(3) === 0 ? { page: rnd(3) } : {}),
      }));
      const doc: Doc = { format: 'text', sections };
      const chunkSize = 16 + rnd(120);
      const opts: ChunkOptions = {
        chunkSize,
        chunkOverlap: rnd(Math.ceil(chunkSize / 2)),
        combineSections: rnd(4) > 0,
        ...(rnd(2) ? { combineUnder: rnd(chunkSize) } : {}),
      };
      // Overlap may be dropped in edge cases (a one-token chunk), never exceeded.
      checkInvariants(doc, chunkDocument(doc, opts), opts, false);
    }
  });

  it('is deterministic and hashes heading path and text', () => {
    const a = chunkDocument(REAL_TEXT, OPTS);
    const b = chunkDocument(structuredClone(REAL_TEXT), OPTS);
    expect(b).toEqual(a);
    for (const c of a) {
      const expected = createHash('sha256')
        .update(`${c.headingPath.join('\u001f')}\u0000${c.text}`)
        .digest('hex');
      expect(c.contentHash).toBe(expected);
      expect(c.contentHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(new Set(a.map((c) => c.contentHash)).size).toBe(a.length);
    // Same text under another heading: another hash. The chunks do not share the caller's arrays.
    const moved = chunkDocument(
      { format: 'text', sections: [{ ...REAL_TEXT.sections[0]!, headingPath: ['Other'] }] },
      OPTS,
    );
    expect(moved[0]!.text).toBe(a[0]!.text);
    expect(moved[0]!.contentHash).not.toBe(a[0]!.contentHash);
    expect(a[0]!.headingPath).not.toBe(REAL_TEXT.sections[0]!.headingPath);
  });

  it('builds the contextual text for embedding', () => {
    const [first] = chunkDocument(REAL_TEXT, OPTS);
    expect(contextualText(first!)).toBe(`Lighthouses\n\n${first!.text}`);
    expect(contextualText({ headingPath: ['A', 'B'], text: 'x' })).toBe('A > B\n\nx');
    expect(contextualText({ headingPath: [], text: 'x' })).toBe('x');
  });

  it('chunks 5 MB of text quickly (time logged, not asserted)', () => {
    const sections: Doc['sections'] = [];
    let size = 0;
    for (let i = 0; size < 5_000_000; i++) {
      const paragraphs = Array.from({ length: 6 }, (_, p) => prose(4 + ((i + p) % 9), i * 10 + p));
      if (i % 5 === 0) paragraphs.push(prose(300, i)); // some long paragraphs without newlines
      const text = paragraphs.join('\n\n');
      sections.push({ text, headingPath: ['Doc', `Section ${i}`], page: i + 1 });
      size += text.length + 2;
    }
    const doc: Doc = { format: 'text', sections };
    const t0 = performance.now();
    const chunks = chunkDocument(doc, { chunkSize: 512, chunkOverlap: 64 });
    const ms = performance.now() - t0;
    console.log(`chunked ${(size / 1e6).toFixed(1)} MB in ${ms.toFixed(0)} ms → ${chunks.length} chunks`);
    const full = documentText(doc);
    for (const c of chunks) {
      expect(c.tokens).toBeLessThanOrEqual(512);
      if (full.slice(c.startOffset, c.endOffset) !== c.text) expect.unreachable(`offsets of chunk ${c.ordinal}`);
    }

    // One 5 MB paragraph without any whitespace: the character fallback stays linear too.
    const blob = 'x7/'.repeat(1_700_000);
    const t1 = performance.now();
    const blobChunks = chunkDocument({ format: 'text', sections: [{ text: blob, headingPath: [] }] }, OPTS);
    console.log(
      `chunked a ${(blob.length / 1e6).toFixed(1)} MB run without spaces in ${(performance.now() - t1).toFixed(0)} ms → ${blobChunks.length} chunks`,
    );
    expect(blobChunks.every((c) => c.tokens <= OPTS.chunkSize)).toBe(true);
  });
});
