import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractText } from 'unpdf';
import { describe, expect, inject, it } from 'vitest';
import { SPHINX_PAGE, buildDocx, buildPdf, buildZip } from '../../../test/document-fixtures';
import {
  MAX_DOCUMENT_BYTES,
  ParseError,
  detectFormat,
  parseDocument,
  type ParseErrorCode,
  type ParsedDocument,
} from './index';

async function parseError(promise: Promise<unknown>): Promise<ParseError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error('expected a ParseError');
}

async function expectParseError(promise: Promise<unknown>, code: ParseErrorCode, message?: RegExp): Promise<void> {
  const e = await parseError(promise);
  expect(e.name).toBe('ParseError');
  expect(e.code).toBe(code);
  if (message) expect(e.message).toMatch(message);
}

const allText = (doc: ParsedDocument) =>
  doc.sections.map((s) => `${s.headingPath.join(' > ')}\n${s.text}`).join('\n\n');

function expectWellFormed(doc: ParsedDocument) {
  expect(doc.sections.length).toBeGreaterThan(0);
  for (const s of doc.sections) {
    expect(s.text.trim()).not.toBe('');
    expect(s.text).not.toMatch(/\r/);
  }
}

describe('PDF', () => {
  const pdf = buildPdf(
    [
      ['Quarterly report', 'Revenue grew (a lot) in Q3.', 'Café and crème'],
      ['Second page', 'Costs stayed flat.'],
    ],
    { title: 'Q3 Report' },
  );

  it('the hand-written fixture is a PDF that pdf.js reads', async () => {
    const { totalPages, text } = await extractText(new Uint8Array(pdf));
    expect(totalPages).toBe(2);
    expect(text[0]).toContain('Revenue grew (a lot) in Q3.');
    expect(text[1]).toContain('Costs stayed flat.');
  });

  it('gives one section per page with 1-based page numbers and the document title', async () => {
    const doc = await parseDocument({ bytes: pdf, filename: 'report.pdf' });
    expectWellFormed(doc);
    expect(doc.format).toBe('pdf');
    expect(doc.title).toBe('Q3 Report');
    expect(doc.sections).toEqual([
      { text: 'Quarterly report\nRevenue grew (a lot) in Q3.\nCafé and crème', headingPath: [], page: 1 },
      { text: 'Second page\nCosts stayed flat.', headingPath: [], page: 2 },
    ]);
  });

  it('is recognised by its magic bytes whatever the name or MIME type say', async () => {
    expect(detectFormat({ bytes: pdf, filename: 'notes.txt', mimeType: 'text/plain' })).toBe('pdf');
    expect((await parseDocument({ bytes: pdf })).format).toBe('pdf');
  });

  it('keeps page numbers when a page has no text', async () => {
    const doc = await parseDocument({ bytes: buildPdf([['first'], [], ['third']]) });
    expect(doc.sections.map((s) => [s.page, s.text])).toEqual([
      [1, 'first'],
      [3, 'third'],
    ]);
  });

  it('a PDF without extractable text is empty and may be scanned', async () => {
    await expectParseError(
      parseDocument({ bytes: buildPdf([[], []]), filename: 'scan.pdf' }),
      'empty',
      /scanned.*OCR/s,
    );
  });

  it('a truncated PDF is corrupt', async () => {
    await expectParseError(
      parseDocument({ bytes: pdf.subarray(0, Math.floor(pdf.length * 0.6)) }),
      'corrupt',
      /truncated/,
    );
    // Cut just before the end: pdf.js alone would rebuild the pages from what is left.
    await expectParseError(parseDocument({ bytes: pdf.subarray(0, pdf.length - 30) }), 'corrupt', /truncated/);
  });

  it('a PDF whose structure is garbage is corrupt', async () => {
    const bytes = Buffer.from('%PDF-1.7\nthis is not a PDF body at all\n%%EOF\n');
    await expectParseError(parseDocument({ bytes, filename: 'x.pdf' }), 'corrupt', /damaged/);
  });

  it('a password-protected PDF is corrupt, with a message saying so', async () => {
    const bytes = buildPdf([['secret']], { passwordProtected: true });
    await expectParseError(parseDocument({ bytes, filename: 'locked.pdf' }), 'corrupt', /password-protected/);
  });

  it('a file named .pdf that is not one is corrupt', async () => {
    await expectParseError(
      parseDocument({ bytes: Buffer.from('<html>Not found</html>'), filename: 'paper.pdf' }),
      'corrupt',
      /no %PDF- header/,
    );
  });
});

describe('DOCX', () => {
  const docx = buildDocx([
    { style: 'Title', text: 'Operations Handbook' },
    { text: 'Read this first.' },
    { style: 'Heading1', text: 'Guide' },
    { text: 'How we work.' },
    { style: 'Heading2', text: 'Install' },
    { text: 'Run the installer & wait.', bold: true },
    {
      table: [
        ['OS', 'Command'],
        ['Linux', 'apt install x'],
        ['macOS', 'brew install x'],
      ],
    },
    { style: 'Heading2', text: 'Upgrade' },
    { text: 'Upgrade in place.' },
    { style: 'Heading1', text: 'Support' },
    { text: 'Mail us.' },
  ]);

  it('splits at Word heading styles, with heading paths, tables as rows and the Title style as title', async () => {
    const doc = await parseDocument({ bytes: docx, filename: 'handbook.docx' });
    expectWellFormed(doc);
    expect(doc.format).toBe('docx');
    expect(doc.title).toBe('Operations Handbook');
    expect(doc.sections).toEqual([
      { text: 'Read this first.', headingPath: ['Operations Handbook'] },
      { text: 'How we work.', headingPath: ['Guide'] },
      {
        text: 'Run the installer & wait.\n\nOS | Command\nLinux | apt install x\nmacOS | brew install x',
        headingPath: ['Guide', 'Install'],
      },
      { text: 'Upgrade in place.', headingPath: ['Guide', 'Upgrade'] },
      { text: 'Mail us.', headingPath: ['Support'] },
    ]);
  });

  it('is recognised by the zip containing word/document.xml, not by its name', () => {
    expect(detectFormat({ bytes: docx })).toBe('docx');
    expect(detectFormat({ bytes: docx, filename: 'upload.bin', mimeType: 'application/octet-stream' })).toBe('docx');
  });

  it('a zip that is not a Word document is unsupported', async () => {
    const zip = buildZip([
      { name: 'readme.txt', data: 'hello' },
      { name: 'data/values.csv', data: 'a,b\n1,2\n' },
    ]);
    await expectParseError(
      parseDocument({ bytes: zip, filename: 'archive.zip' }),
      'unsupported_format',
      /ZIP archive, not a Word document/,
    );
    await expectParseError(parseDocument({ bytes: zip, filename: 'renamed.docx' }), 'unsupported_format');
    const xlsx = buildZip(
      [
        { name: '[Content_Types].xml', data: '<Types/>' },
        { name: 'xl/workbook.xml', data: '<workbook/>' },
      ],
      { compress: false },
    );
    await expectParseError(parseDocument({ bytes: xlsx, filename: 'book.xlsx' }), 'unsupported_format', /Excel/);
  });

  it('a Word document with a broken body is corrupt', async () => {
    const broken = buildZip([
      {
        name: '_rels/.rels',
        data: '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      },
      { name: 'word/document.xml', data: '<w:document xmlns:w="x"><w:body><w:p>unclosed' },
    ]);
    await expectParseError(
      parseDocument({ bytes: broken, filename: 'broken.docx' }),
      'corrupt',
      /Word document is damaged/,
    );
  });

  it('a truncated Word document is corrupt', async () => {
    await expectParseError(
      parseDocument({ bytes: docx.subarray(0, Math.floor(docx.length / 2)), filename: 'cut.docx' }),
      'corrupt',
    );
  });
});

describe('HTML', () => {
  it('takes the Sphinx body, drops sidebar, related navigation, footer and ¶ permalinks', async () => {
    const doc = await parseDocument({ bytes: Buffer.from(SPHINX_PAGE), filename: 'widgets.html' });
    expectWellFormed(doc);
    expect(doc.format).toBe('html');
    expect(doc.title).toBe('Built-in Widgets');
    const text = allText(doc);
    for (const furniture of [
      'SIDEBAR-TOC-TEXT',
      'Table of Contents',
      'Show Source',
      'RELATED-INDEX',
      'RELATED-BOTTOM',
      'MOBILE-NAV-TEXT',
      'FOOTER-TEXT',
      'Navigation',
      '¶',
      'body { color',
      'doctools',
    ]) {
      expect(text).not.toContain(furniture);
    }
    expect(doc.sections.map((s) => s.headingPath)).toEqual([
      ['Built-in Widgets'],
      ['Built-in Widgets', 'Installing'],
      ['Built-in Widgets', 'Installing', 'On Linux'],
      ['Built-in Widgets', 'Reference', 'gear(teeth)'],
      ['Built-in Widgets', 'Reference'],
    ]);
    const [intro, installing, linux, gear, reference] = doc.sections;
    expect(intro?.text).toBe(
      'The widget library has a number of widgets built into it that are always available.\n\n' +
        'Name | Purpose\ngear() | Turns things\nlever() | Lifts things',
    );
    // Code keeps its line breaks and indentation.
    expect(installing?.text).toBe(
      'Install the library with pip:\n\nimport widgets\nfor w in widgets.all():\n    print(w)',
    );
    expect(linux?.text).toBe(
      'Use the system package manager.\n\n- Debian: apt install widgets\n- Fedora: dnf install widgets',
    );
    expect(gear?.text).toBe('Return a gear with teeth teeth.');
    expect(reference?.text).toBe('Widgets are thread-safe.');
  });

  it('prefers <main>, even when its class names a boilerplate word, and drops furniture inside it', async () => {
    const html = `<!doctype html><html><head><title>Page | Site</title></head><body>
      <header class="site-header"><a href="/">Site</a> <nav>Home About</nav></header>
      <div class="breadcrumbs">Home › Docs</div>
      <main class="main-with-sidebar" id="content">
        <article class="post-header-fixed">
          <header><h1>Deploying</h1><p>By Ann</p></header>
          <p>First <a href="/x">read this</a>.<br>Then that.</p>
          <div class="cookie-banner">We use cookies</div>
          <div class="related-posts"><h3>Related</h3><a href="/y">Other post</a></div>
          <h2>Steps</h2>
          <ol><li>Build</li><li>Ship<ul><li>to staging</li><li>to prod</li></ul></li></ol>
          <pre><code>make deploy
  --env prod</code></pre>
          <footer>Posted in Ops</footer>
        </article>
      </main>
      <aside class="sidebar">Popular posts</aside>
      <footer class="site-footer">© Site</footer>
      <script>trackEverything()</script>
    </body></html>`;
    const doc = await parseDocument({ bytes: Buffer.from(html), mimeType: 'text/html; charset=utf-8' });
    expect(doc.title).toBe('Page | Site');
    expect(doc.sections).toEqual([
      { text: 'By Ann\n\nFirst read this.\nThen that.', headingPath: ['Deploying'] },
      {
        text: '1. Build\n2. Ship\n  - to staging\n  - to prod\n\nmake deploy\n  --env prod',
        headingPath: ['Deploying', 'Steps'],
      },
    ]);
    const text = allText(doc);
    for (const furniture of ['Site', 'Home', 'cookies', 'Other post', 'Posted in', 'Popular', 'track'])
      expect(text).not.toContain(furniture);
  });

  it('falls back to <body>, takes the title from the first h1 when there is no <title>, and sniffs HTML without a name', async () => {
    const html =
      '<!DOCTYPE html>\n<html><body><div id="nav">Menu</div><h1>Notes</h1><p>Plain &amp; simple.</p><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table></body></html>';
    const doc = await parseDocument({ bytes: Buffer.from(html) });
    expect(doc.format).toBe('html');
    expect(doc.title).toBe('Notes');
    expect(doc.sections).toEqual([{ text: 'Plain & simple.\n\nk | v\na | 1', headingPath: ['Notes'] }]);
  });

  it('a page with no text is empty', async () => {
    await expectParseError(
      parseDocument({
        bytes: Buffer.from('<html><body><script>x()</script><nav>Menu</nav></body></html>'),
        filename: 'a.html',
      }),
      'empty',
    );
  });

  it('the Python 3.11 built-in functions page (python3.11-doc) gives clean sections', async () => {
    const docs = inject('testTools').pythonDocs; // installed by the test setup (test/tools.ts) when missing
    if (!docs.path) throw new Error(docs.problem);
    const builtins = join(docs.path, 'library', 'functions.html');
    const doc = await parseDocument({ bytes: readFileSync(builtins), filename: 'functions.html' });
    expectWellFormed(doc);
    expect(doc.title).toBe('Built-in Functions');
    for (const s of doc.sections) expect(s.headingPath[0]).toBe('Built-in Functions');
    const paths = doc.sections.map((s) => s.headingPath.join(' > '));
    expect(paths).toContain('Built-in Functions > abs(x)');
    expect(paths).toContain('Built-in Functions > zip(*iterables, strict=False)');
    expect(doc.sections[0]?.text).toMatch(/^The Python interpreter has a number of functions/);
    const all = doc.sections.find((s) => s.headingPath[1] === 'all(iterable)');
    expect(all?.text).toContain(
      'def all(iterable):\n    for element in iterable:\n        if not element:\n            return False',
    );
    const text = allText(doc);
    for (const furniture of [
      'Table of Contents',
      'Previous topic',
      'Next topic',
      'This Page',
      'Show Source',
      'Report a Bug',
      'Quick search',
      '¶',
      'Copyright',
      'modules |',
    ]) {
      expect(text).not.toContain(furniture);
    }
  });
});

describe('Markdown', () => {
  const md = [
    '---',
    'title: Front matter title',
    'tags: [ops]',
    '---',
    'Preamble with a [link to docs](https://example.com) and ![architecture diagram](arch.png).',
    '',
    '# Guide',
    '',
    'Some **bold**, _emphasised_ and `inline code` text &amp; more.',
    '',
    'Install',
    '-------',
    '',
    '- one',
    '- two',
    '  1. nested',
    '',
    '### Linux',
    '',
    '```bash',
    'sudo apt install   widgets',
    '    --yes',
    '```',
    '',
    '| OS | Command |',
    '|----|---------|',
    '| Debian | apt |',
    '',
    '## Upgrade',
    '',
    '> Back up first.',
    '',
    '# Appendix',
    '',
    'The end.',
  ].join('\r\n');

  it('splits at ATX and setext headings with heading paths, strips light syntax and keeps code verbatim', async () => {
    const doc = await parseDocument({ bytes: Buffer.from(md), filename: 'guide.md' });
    expectWellFormed(doc);
    expect(doc.format).toBe('markdown');
    expect(doc.title).toBe('Guide');
    expect(doc.sections).toEqual([
      { text: 'Preamble with a link to docs and architecture diagram.', headingPath: [] },
      { text: 'Some bold, emphasised and inline code text & more.', headingPath: ['Guide'] },
      { text: '- one\n- two\n  1. nested', headingPath: ['Guide', 'Install'] },
      {
        text: 'sudo apt install   widgets\n    --yes\n\nOS | Command\nDebian | apt',
        headingPath: ['Guide', 'Install', 'Linux'],
      },
      { text: 'Back up first.', headingPath: ['Guide', 'Upgrade'] },
      { text: 'The end.', headingPath: ['Appendix'] },
    ]);
  });

  it('uses the front matter title when there is no H1', async () => {
    const doc = await parseDocument({
      bytes: Buffer.from('---\ntitle: "Release notes"\n---\n## v2\n\nFaster.\n'),
      filename: 'NOTES.markdown',
    });
    expect(doc.title).toBe('Release notes');
    expect(doc.sections).toEqual([{ text: 'Faster.', headingPath: ['v2'] }]);
  });
});

describe('text', () => {
  it('one section, paragraphs kept, line endings normalised, BOM stripped', async () => {
    const bytes = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('First line\r\nsecond line   \r\n\r\n\r\n\r\nNext paragraph\rlast\n'),
    ]);
    const doc = await parseDocument({ bytes, filename: 'notes.txt' });
    expect(doc).toEqual({
      format: 'text',
      sections: [{ text: 'First line\nsecond line\n\nNext paragraph\nlast', headingPath: [] }],
    });
  });

  it('reads Windows-1252 text that is not UTF-8, keeps the odd invalid byte as U+FFFD, refuses mostly-invalid text', async () => {
    const latin1 = await parseDocument({
      bytes: Buffer.from('Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e', 'latin1'),
      filename: 'menu.txt',
    });
    expect(latin1.sections[0]?.text).toBe('Café crème brûlée');
    const mostlyUtf8 = await parseDocument({
      bytes: Buffer.concat([Buffer.from('naïve café résumé '), Buffer.from([0xff]), Buffer.from(' ok')]),
      filename: 'a.log',
    });
    expect(mostlyUtf8.sections[0]?.text).toBe('naïve café résumé \ufffd ok');
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 + ((i * 7919) % 127)));
    await expectParseError(parseDocument({ bytes: garbage, filename: 'weird.txt' }), 'corrupt', /not valid UTF-8/);
  });

  it('whitespace only is empty', async () => {
    await expectParseError(
      parseDocument({ bytes: Buffer.from(' \n\t\r\n '), filename: 'blank.txt' }),
      'empty',
      /contains no text/,
    );
  });
});

describe('CSV', () => {
  it('renders records as "column: value" and groups them 50 to a section', async () => {
    const lines = ['id,name,notes'];
    for (let i = 1; i <= 120; i++)
      lines.push(`${i},Name ${i},${i === 2 ? '"Says ""hi"", then\nleaves"' : i === 3 ? '' : `note ${i}`}`);
    const doc = await parseDocument({ bytes: Buffer.from(lines.join('\r\n')), filename: 'data/people.csv' });
    expectWellFormed(doc);
    expect(doc.format).toBe('csv');
    expect(doc.sections.map((s) => s.headingPath)).toEqual([
      ['people.csv', 'rows 1–50'],
      ['people.csv', 'rows 51–100'],
      ['people.csv', 'rows 101–120'],
    ]);
    const first = doc.sections[0]?.text.split('\n') ?? [];
    expect(first).toHaveLength(50);
    expect(first.slice(0, 3)).toEqual([
      'id: 1; name: Name 1; notes: note 1',
      'id: 2; name: Name 2; notes: Says "hi", then leaves',
      'id: 3; name: Name 3',
    ]);
    expect(doc.sections[2]?.text.split('\n').at(-1)).toBe('id: 120; name: Name 120; notes: note 120');
  });

  it('labels sections "CSV" without a file name and detects semicolon-separated files by MIME type', async () => {
    const doc = await parseDocument({ bytes: Buffer.from('Stadt;Einwohner\nKöln;1084831\n'), mimeType: 'text/csv' });
    expect(doc.sections).toEqual([{ text: 'Stadt: Köln; Einwohner: 1084831', headingPath: ['CSV', 'row 1'] }]);
  });

  it('a header without rows is empty; an unterminated quote is corrupt', async () => {
    await expectParseError(
      parseDocument({ bytes: Buffer.from('a,b,c\n'), filename: 'h.csv' }),
      'empty',
      /no data rows/,
    );
    await expectParseError(
      parseDocument({ bytes: Buffer.from('a,b\n"open,1\n'), filename: 'q.csv' }),
      'corrupt',
      /could not be parsed/,
    );
  });
});

describe('JSON', () => {
  it('an array of objects: one record per object, nested keys dotted, arrays joined', async () => {
    const data = [
      {
        id: 1,
        name: 'Widget',
        price: 9.5,
        active: true,
        tags: ['blue', 'small'],
        owner: { name: 'Ann', address: { city: 'Oslo' } },
        gone: null,
      },
      { id: 2, name: 'Gadget', parts: [{ sku: 'p1' }, { sku: 'p2' }] },
    ];
    const doc = await parseDocument({ bytes: Buffer.from(JSON.stringify(data, null, 2)), filename: 'items.json' });
    expect(doc).toEqual({
      format: 'json',
      sections: [
        {
          text:
            'id: 1; name: Widget; price: 9.5; active: true; tags: blue, small; owner.name: Ann; owner.address.city: Oslo\n' +
            'id: 2; name: Gadget; parts.sku: p1, p2',
          headingPath: ['items.json', 'records 1–2'],
        },
      ],
    });
  });

  it('JSONL / NDJSON, a single object, and sniffed JSON without a name', async () => {
    const jsonl = await parseDocument({
      bytes: Buffer.from('{"q":"a?","n":1}\n\n{"q":"b?","n":2}\n'),
      filename: 'qa.jsonl',
    });
    expect(jsonl.sections).toEqual([{ text: 'q: a?; n: 1\nq: b?; n: 2', headingPath: ['qa.jsonl', 'records 1–2'] }]);
    const ndjson = await parseDocument({ bytes: Buffer.from('{"a":1}\n{"a":2}'), filename: 'x.ndjson' });
    expect(ndjson.sections[0]?.text).toBe('a: 1\na: 2');
    const single = await parseDocument({
      bytes: Buffer.from('{"service":{"name":"api","ports":[80,443]}}'),
      filename: 'config.json',
    });
    expect(single.sections).toEqual([
      { text: 'service.name: api; service.ports: 80, 443', headingPath: ['config.json', 'record 1'] },
    ]);
    const sniffed = await parseDocument({ bytes: Buffer.from(' [{"k":"v"}] ') });
    expect(sniffed.format).toBe('json');
    expect(sniffed.sections).toEqual([{ text: 'k: v', headingPath: ['JSON', 'record 1'] }]);
  });

  it('many records are grouped 50 to a section', async () => {
    const lines = Array.from({ length: 101 }, (_, i) => JSON.stringify({ i: i + 1 }));
    const doc = await parseDocument({ bytes: Buffer.from(lines.join('\n')), mimeType: 'application/x-ndjson' });
    expect(doc.sections.map((s) => s.headingPath[1])).toEqual(['records 1–50', 'records 51–100', 'record 101']);
  });

  it('invalid JSON is corrupt; an empty array is empty', async () => {
    await expectParseError(
      parseDocument({ bytes: Buffer.from('{"a": 1, "b": '), filename: 'bad.json' }),
      'corrupt',
      /not valid JSON/,
    );
    await expectParseError(
      parseDocument({ bytes: Buffer.from('{"a":1}\n{"a":\n'), filename: 'bad.jsonl' }),
      'corrupt',
      /Line 2/,
    );
    await expectParseError(parseDocument({ bytes: Buffer.from('[]'), filename: 'none.json' }), 'empty');
  });
});

describe('detection and limits', () => {
  it('by extension, then MIME type, then content', () => {
    const text = Buffer.from('hello');
    expect(detectFormat({ bytes: text, filename: 'a.TXT' })).toBe('text');
    expect(detectFormat({ bytes: text, filename: 'server.log' })).toBe('text');
    expect(detectFormat({ bytes: text, filename: 'README.md' })).toBe('markdown');
    expect(detectFormat({ bytes: text, filename: 'index.htm' })).toBe('html');
    expect(detectFormat({ bytes: text, filename: 'x.csv', mimeType: 'text/html' })).toBe('csv');
    expect(detectFormat({ bytes: text, mimeType: 'text/markdown; charset=utf-8' })).toBe('markdown');
    expect(detectFormat({ bytes: text, filename: 'noext', mimeType: 'application/json' })).toBe('json');
    expect(detectFormat({ bytes: Buffer.from('  <!DOCTYPE html><p>x') })).toBe('html');
    expect(detectFormat({ bytes: Buffer.from('<html lang="en"><p>x') })).toBe('html');
    expect(detectFormat({ bytes: Buffer.from('{"a": 1}'), filename: 'export' })).toBe('json');
    expect(detectFormat({ bytes: Buffer.from('{not json'), filename: 'export' })).toBe('text');
    expect(detectFormat({ bytes: text })).toBe('text');
  });

  it('random binary is unsupported, with a clear message', async () => {
    const bytes = randomBytes(8192);
    bytes[0] = 0; // no accidental magic number (gzip, JPEG, …) at the start
    expect(() => detectFormat({ bytes, filename: 'blob.bin' })).toThrow(ParseError);
    await expectParseError(
      parseDocument({ bytes, filename: 'blob.bin' }),
      'unsupported_format',
      /^Not a PDF, DOCX, HTML, Markdown, text, CSV or JSON file \(found binary content\)\.$/,
    );
    // Binary content wins over a text extension.
    await expectParseError(parseDocument({ bytes, filename: 'blob.txt' }), 'unsupported_format');
    await expectParseError(
      parseDocument({
        bytes: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
        filename: 'scan.png',
      }),
      'unsupported_format',
      /PNG image/,
    );
  });

  it('an empty file is empty; more than 50 MB is too large', async () => {
    await expectParseError(
      parseDocument({ bytes: Buffer.alloc(0), filename: 'nothing.pdf' }),
      'empty',
      /The file is empty/,
    );
    await expectParseError(
      parseDocument({ bytes: Buffer.alloc(MAX_DOCUMENT_BYTES + 1, 0x61), filename: 'big.txt' }),
      'too_large',
      /50 MB/,
    );
  });
});
