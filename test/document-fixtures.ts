/**
 * Builders for real sample documents used by the parser tests: a minimal but valid PDF (written by hand, with correct
 * xref offsets), a ZIP writer and a DOCX built on it, and a Sphinx-style HTML page. Nothing binary is committed; the
 * tests create their samples at run time.
 */
import { deflateRawSync } from 'node:zlib';

// ---------------------------------------------------------------------------------------------------------------- PDF

/** Escapes a string for a PDF literal string `( … )`. Text is written in WinAnsi (Latin-1 compatible) encoding. */
function pdfString(s: string): string {
  return `(${s.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

export interface PdfOptions {
  /** Document information dictionary /Title. */
  title?: string;
  /**
   * Adds a Standard security handler (RC4, revision 2) whose /U entry does not match the empty user password, so a
   * reader asks for a password it does not have: a stand-in for a password-protected PDF.
   */
  passwordProtected?: boolean;
}

/**
 * A PDF with one page per entry of `pages`; each page shows its lines in Helvetica, top to bottom. A page with no lines
 * gets a content stream that only draws a rectangle (no text), like a scanned page without a text layer.
 */
export function buildPdf(pages: string[][], options: PdfOptions = {}): Buffer {
  const objects: string[] = []; // objects[i] is object number i + 1
  const add = (body: string): number => {
    objects.push(body);
    return objects.length;
  };
  const catalog = add(''); // filled in below, once the page tree number is known
  const pageTree = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const pageRefs: number[] = [];
  for (const lines of pages) {
    const content =
      lines.length > 0
        ? [
            'BT',
            '/F1 12 Tf',
            '16 TL',
            '72 720 Td',
            ...lines.flatMap((l, i) => (i === 0 ? [] : ['T*']).concat(`${pdfString(l)} Tj`)),
            'ET',
          ].join('\n')
        : '0.5 g\n72 72 468 648 re\nf';
    const stream = add(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
    pageRefs.push(
      add(
        `<< /Type /Page /Parent ${pageTree} 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 ${font} 0 R >> >> /Contents ${stream} 0 R >>`,
      ),
    );
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pageTree} 0 R >>`;
  objects[pageTree - 1] =
    `<< /Type /Pages /Kids [${pageRefs.map((n) => `${n} 0 R`).join(' ')}] /Count ${pageRefs.length} >>`;
  const info =
    options.title !== undefined
      ? add(`<< /Title ${pdfString(options.title)} /Producer (BeyondCloud tests) >>`)
      : undefined;
  const encrypt = options.passwordProtected
    ? add(`<< /Filter /Standard /V 1 /R 2 /O <${'ab'.repeat(32)}> /U <${'cd'.repeat(32)}> /P -44 >>`)
    : undefined;

  let out = '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  const id = `<${'0123456789abcdef'.repeat(2)}>`;
  out +=
    `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R` +
    (info !== undefined ? ` /Info ${info} 0 R` : '') +
    (encrypt !== undefined ? ` /Encrypt ${encrypt} 0 R` : '') +
    ` /ID [${id} ${id}] >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// ---------------------------------------------------------------------------------------------------------------- ZIP

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data: string | Buffer;
}

/** A ZIP archive (deflate, or stored when `compress` is false) with a central directory, as Word and Office write. */
export function buildZip(entries: ZipEntry[], options: { compress?: boolean } = {}): Buffer {
  const compress = options.compress ?? true;
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  // 2024-01-01 00:00 in MS-DOS date/time format.
  const dosTime = 0;
  const dosDate = ((2024 - 1980) << 9) | (1 << 5) | 1;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const raw = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const body = compress ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(compress ? 8 : 0, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(compress ? 8 : 0, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    // extra length, comment length, disk number, internal attributes, external attributes: all zero
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const centralDir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralDir, end]);
}

// --------------------------------------------------------------------------------------------------------------- DOCX

export type DocxBlock =
  { style?: 'Title' | 'Heading1' | 'Heading2' | 'Heading3'; text: string; bold?: boolean } | { table: string[][] };

const xmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const W_NS = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

function docxParagraph(block: { style?: string; text: string; bold?: boolean }): string {
  const pPr = block.style ? `<w:pPr><w:pStyle w:val="${block.style}"/></w:pPr>` : '';
  const rPr = block.bold ? '<w:rPr><w:b/></w:rPr>' : '';
  return `<w:p>${pPr}<w:r>${rPr}<w:t xml:space="preserve">${xmlEscape(block.text)}</w:t></w:r></w:p>`;
}

/** A Word document: [Content_Types].xml, package and document relationships, styles with real heading styles. */
export function buildDocx(blocks: DocxBlock[]): Buffer {
  const body = blocks
    .map((b) =>
      'table' in b
        ? `<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>${b.table
            .map((row) => `<w:tr>${row.map((cell) => `<w:tc>${docxParagraph({ text: cell })}</w:tc>`).join('')}</w:tr>`)
            .join('')}</w:tbl>`
        : docxParagraph(b),
    )
    .join('');
  const style = (id: string, name: string, extra = '') =>
    `<w:style w:type="paragraph" w:styleId="${id}"><w:name w:val="${name}"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:qFormat/>${extra}</w:style>`;
  return buildZip([
    {
      name: '[Content_Types].xml',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
        '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>' +
        '</Types>',
    },
    {
      name: '_rels/.rels',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
        '</Relationships>',
    },
    {
      name: 'word/_rels/document.xml.rels',
      data:
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' +
        '</Relationships>',
    },
    {
      name: 'word/document.xml',
      data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W_NS}"><w:body>${body}<w:sectPr/></w:body></w:document>`,
    },
    {
      name: 'word/styles.xml',
      data:
        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="${W_NS}">` +
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>' +
        style('Title', 'Title') +
        style('Heading1', 'heading 1', '<w:pPr><w:outlineLvl w:val="0"/></w:pPr>') +
        style('Heading2', 'heading 2', '<w:pPr><w:outlineLvl w:val="1"/></w:pPr>') +
        style('Heading3', 'heading 3', '<w:pPr><w:outlineLvl w:val="2"/></w:pPr>') +
        '</w:styles>',
    },
  ]);
}

// --------------------------------------------------------------------------------------------------------------- HTML

/** A page in the shape Sphinx (the Python docs theme) writes: related nav, sidebar, headerlinks, a table, code, footer. */
export const SPHINX_PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Built-in Widgets &#8212; Example 1.0 documentation</title>
    <link rel="stylesheet" href="../_static/pydoctheme.css" type="text/css" />
    <script src="../_static/doctools.js"></script>
    <style>body { color: red; }</style>
  </head>
  <body>
    <div class="mobile-nav"><nav class="nav-content" role="navigation"><a href="../index.html">MOBILE-NAV-TEXT</a></nav></div>
    <div class="related" role="navigation" aria-label="related navigation">
      <h3>Navigation</h3>
      <ul>
        <li class="right"><a href="../genindex.html" title="General Index" accesskey="I">RELATED-INDEX</a></li>
        <li class="nav-item"><a href="../index.html">Example 1.0 documentation</a> &#187;</li>
      </ul>
    </div>
    <div class="document">
      <div class="documentwrapper">
        <div class="bodywrapper">
          <div class="body" role="main">
  <section id="built-in-widgets">
<h1>Built-in Widgets<a class="headerlink" href="#built-in-widgets" title="Permalink to this heading">¶</a></h1>
<p>The widget library has a number of <em>widgets</em> built into it that are always available.</p>
<table class="docutils align-default">
<thead>
<tr class="row-odd"><th class="head"><p>Name</p></th><th class="head"><p>Purpose</p></th></tr>
</thead>
<tbody>
<tr class="row-even"><td><p><code class="docutils literal notranslate"><span class="pre">gear()</span></code></p></td><td><p>Turns things</p></td></tr>
<tr class="row-odd"><td><p><code class="docutils literal notranslate"><span class="pre">lever()</span></code></p></td><td><p>Lifts things</p></td></tr>
</tbody>
</table>
<section id="installing">
<h2>Installing<a class="headerlink" href="#installing" title="Permalink to this heading">¶</a></h2>
<p>Install the library with pip:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="kn">import</span> <span class="nn">widgets</span>
<span class="k">for</span> <span class="n">w</span> <span class="ow">in</span> <span class="n">widgets</span><span class="o">.</span><span class="n">all</span><span class="p">():</span>
    <span class="nb">print</span><span class="p">(</span><span class="n">w</span><span class="p">)</span>
</pre></div>
</div>
<section id="on-linux">
<h3>On Linux<a class="headerlink" href="#on-linux" title="Permalink to this heading">¶</a></h3>
<p>Use the system package manager.</p>
<ul class="simple">
<li><p>Debian: <code>apt install widgets</code></p></li>
<li><p>Fedora: <code>dnf install widgets</code></p></li>
</ul>
</section>
</section>
<section id="reference">
<h2>Reference<a class="headerlink" href="#reference" title="Permalink to this heading">¶</a></h2>
<dl class="py function">
<dt class="sig sig-object py" id="gear">
<span class="sig-name descname"><span class="pre">gear</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">teeth</span></span></em><span class="sig-paren">)</span><a class="headerlink" href="#gear" title="Permalink to this definition">¶</a></dt>
<dd><p>Return a gear with <em>teeth</em> teeth.</p>
</dd></dl>

<p>Widgets are thread-safe.</p>
</section>
</section>

            <div class="clearer"></div>
          </div>
        </div>
      </div>
      <div class="sphinxsidebar" role="navigation" aria-label="main navigation">
        <div class="sphinxsidebarwrapper">
  <div>
    <h3><a href="../contents.html">Table of Contents</a></h3>
    <ul><li><a class="reference internal" href="#">SIDEBAR-TOC-TEXT</a></li></ul>
  </div>
  <div role="note" aria-label="source link"><h3>This Page</h3><ul class="this-page-menu"><li><a href="../_sources/x.rst.txt">Show Source</a></li></ul></div>
        </div>
      </div>
      <div class="clearer"></div>
    </div>
    <div class="related" role="navigation" aria-label="related navigation"><h3>Navigation</h3><ul><li>RELATED-BOTTOM</li></ul></div>
    <div class="footer">&copy; Copyright 2001-2024, FOOTER-TEXT. <a href="/license.html">History and License</a></div>
  </body>
</html>
`;
