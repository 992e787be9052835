/** HTML → sections (cheerio): the content root found, boilerplate dropped, headings kept, Sphinx-aware. */
import * as cheerio from 'cheerio';
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import { SectionBuilder } from './section-builder';
import { collapse } from './text';
import type { ParsedSection } from './types';

type El = Element;

const isElement = (n: AnyNode): n is El => n.nodeType === 1;
const isTextNode = (n: AnyNode): n is AnyNode & { data: string } => n.nodeType === 3;

const HEADING = /^h([1-6])$/;

const BLOCK_TAGS = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'center',
  'dd',
  'details',
  'dialog',
  'dir',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'header',
  'hgroup',
  'hr',
  'html',
  'legend',
  'li',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
  'pre',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'option',
  'noscript',
  'search',
]);

/** Never content. */
export const ALWAYS_DROP =
  'script, style, noscript, template, svg, math annotation, iframe, object, embed, canvas, video, audio, map, button, select, input, textarea, dialog, link, meta, head';

/** Navigation and page furniture, dropped inside the content root. */
const FURNITURE =
  'nav, [role=navigation], [role=banner], [role=contentinfo], [role=search], [role=complementary], [hidden], [aria-hidden=true], .headerlink';

const CONTENT_CONTAINERS = 'main, article, [role=main]';

const BOILERPLATE_WORDS = ['sidebar', 'breadcrumb', 'cookie', 'related', 'footer', 'header'];

/** Which boilerplate word an element's class or id carries ('nav' only as a word of its own: not 'canvas', 'navy'). */
function boilerplateWord(el: El): string | undefined {
  const parts = `${el.attribs.class ?? ''} ${el.attribs.id ?? ''}`
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (const part of parts) {
    for (const word of BOILERPLATE_WORDS) if (part.startsWith(word) || part.endsWith(word)) return word;
    if (/^(?:[a-z]*nav|nav(?:bar|igation|menu|links?|list|items?|wrapper|container|tabs)?)$/.test(part)) return 'nav';
  }
  return undefined;
}

function textLength($: CheerioAPI, el: El): number {
  return $(el).text().replace(/\s+/g, '').length;
}

/** The main content container: <main>, [role=main] or a single top-level <article>; else <body>. */
function contentRoot($: CheerioAPI): El | undefined {
  for (const selector of ['main', '[role=main]', 'article']) {
    const outermost = $(selector)
      .get()
      .filter((el): el is El => isElement(el) && $(el).parents(selector).length === 0);
    if (outermost.length === 1 || (outermost.length > 1 && selector !== 'article')) {
      return outermost.reduce((best, el) => (textLength($, el) > textLength($, best) ? el : best));
    }
  }
  return $('body').get(0);
}

function removeBoilerplate($: CheerioAPI, root: El): void {
  const $root = $(root);
  $root.find(FURNITURE).remove();
  // <aside> is a sidebar, except where it holds footnotes or notes (Sphinx writes footnotes as aside.footnote).
  $root
    .find('aside')
    .filter((_, a) => !/footnote|endnote|\bnote\b|admonition/i.test(`${a.attribs.class ?? ''} ${a.attribs.role ?? ''}`))
    .remove();
  // Permalink anchors other doc generators add next to headings (¶, #, §).
  $root
    .find('a[href^="#"]')
    .filter((_, a) => /^[¶#§🔗]$/u.test($(a).text().trim()))
    .remove();
  // Page-level <header>/<footer> (not inside an article or section): site furniture. Inside one they may hold the
  // article's own title, so only those without a heading go.
  $root.find('footer').remove();
  $root
    .find('header')
    .filter(
      (_, h) =>
        $(h).closest('article, section, main, [role=main]').length === 0 ||
        $(h).find('h1, h2, h3, h4, h5, h6').length === 0,
    )
    .remove();
  // A form wrapping the whole page (ASP.NET) is content; a search or login form is not.
  $root
    .find('form')
    .filter((_, f) => $(f).find(`${CONTENT_CONTAINERS}, h1, h2`).length === 0)
    .remove();

  const rootLength = Math.max(1, textLength($, root));
  const candidates = $root.find('[class], [id]').get();
  for (const el of candidates) {
    const word = boilerplateWord(el);
    if (!word) continue;
    if ($(el).closest('html').length === 0) continue; // already removed with an ancestor
    if (['main', 'article', 'body', 'html'].includes(el.name) || el.attribs.role === 'main') continue;
    if ($(el).find(CONTENT_CONTAINERS).length > 0) continue;
    // A wrapper holding most of the page is layout, not furniture (e.g. <div id="page-with-sidebar">).
    if (textLength($, el) > 0.6 * rootLength) continue;
    if (
      word === 'header' &&
      $(el).find('h1, h2, h3, h4, h5, h6').length > 0 &&
      $(el).closest('article, section').length > 0
    )
      continue;
    $(el).remove();
  }
}

/** Plain text of an element on one line (table cells, headings, signatures). */
function inlineText($: CheerioAPI, el: El): string {
  const parts: string[] = [];
  const visit = (n: AnyNode) => {
    if (isTextNode(n)) parts.push(n.data);
    else if (isElement(n)) {
      if (n.name === 'br') parts.push(' ');
      else if (n.name === 'img') parts.push(imageAlt(n));
      else {
        const block = BLOCK_TAGS.has(n.name);
        if (block) parts.push(' ');
        n.children.forEach(visit);
        if (block) parts.push(' ');
      }
    }
  };
  el.children.forEach(visit);
  return collapse(parts.join('')).replace(/\s*¶$/, '');
}

function imageAlt(img: El): string {
  const alt = collapse(img.attribs.alt ?? '');
  // Sphinx and others put the image path in alt when none was given: not text.
  if (alt === '' || /^\S+\.(?:png|jpe?g|gif|svg|webp|bmp)$/i.test(alt)) return '';
  return ` ${alt} `;
}

/** Sphinx writes object descriptions as `<dl class="py function"><dt class="sig …">` (older: `dt > .descname`). */
function isSphinxSignatureList($: CheerioAPI, el: El): boolean {
  const dt = el.children.find((c): c is El => isElement(c) && c.name === 'dt');
  if (!dt) return false;
  return (dt.attribs.class ?? '').split(/\s+/).includes('sig') || $(dt).children('.descname, .sig-name').length > 0;
}

/** Walks the DOM of the content root, emitting paragraphs, list items, tables, code and headings into a builder. */
export class HtmlWalker {
  private inline = '';
  private prefix = '';
  private listDepth = 0;
  private sigDepth = 0;
  firstH1: string | undefined;

  constructor(
    private readonly $: CheerioAPI,
    private readonly out: SectionBuilder,
  ) {}

  walkChildren(el: { children: AnyNode[] }): void {
    for (const child of el.children) this.walk(child);
  }

  private flushPara(tight = this.listDepth > 0): void {
    // '\u0000' marks a <br>; everything else collapses.
    let text = this.inline
      .split('\u0000')
      .map((line) => collapse(line))
      .filter((line, i, all) => line !== '' || (i > 0 && i < all.length - 1))
      .join('\n')
      .trim();
    this.inline = '';
    if (text === '') return;
    if (this.prefix) {
      text = this.prefix + text;
      this.prefix = '';
    } else if (this.listDepth > 0) {
      text = '  '.repeat(this.listDepth) + text;
    }
    this.out.block(text, tight);
  }

  private walk(node: AnyNode): void {
    if (isTextNode(node)) {
      this.inline += node.data;
      return;
    }
    if (!isElement(node)) return;
    const name = node.name;
    const heading = HEADING.exec(name);
    if (heading) {
      this.flushPara();
      const text = inlineText(this.$, node);
      if (text !== '') {
        const level = Number(heading[1]);
        if (level === 1 && this.firstH1 === undefined) this.firstH1 = text;
        this.out.heading(level, text);
      }
      return;
    }
    switch (name) {
      case 'br':
        this.inline += '\u0000';
        return;
      case 'img':
        this.inline += imageAlt(node);
        return;
      case 'pre':
        this.flushPara();
        this.out.block(preText(this.$, node), this.listDepth > 0);
        return;
      case 'table':
        this.table(node);
        return;
      case 'ul':
      case 'ol':
      case 'menu':
        this.list(node, name === 'ol');
        return;
      case 'dl':
        if (isSphinxSignatureList(this.$, node)) {
          this.sphinxSignatures(node);
          return;
        }
        break;
      case 'hr':
        this.flushPara();
        return;
    }
    if (BLOCK_TAGS.has(name)) {
      this.flushPara();
      this.walkChildren(node);
      this.flushPara(this.listDepth > 0 || name === 'dt' || name === 'dd');
    } else {
      this.walkChildren(node);
    }
  }

  private list(el: El, ordered: boolean): void {
    this.flushPara();
    let n = Number.parseInt(el.attribs.start ?? '1', 10);
    if (!Number.isFinite(n)) n = 1;
    this.listDepth++;
    for (const child of el.children) {
      if (isElement(child) && child.name === 'li') {
        this.flushPara();
        this.prefix = '  '.repeat(this.listDepth - 1) + (ordered ? `${n++}. ` : '- ');
        this.walkChildren(child);
        this.flushPara();
        this.prefix = '';
      } else {
        this.walk(child);
      }
    }
    this.flushPara();
    this.listDepth--;
  }

  private table(el: El): void {
    this.flushPara();
    const $ = this.$;
    // A layout table (headings or tables inside) is walked like any other container.
    if ($(el).find('h1, h2, h3, h4, h5, h6, table').length > 0) {
      this.walkChildren(el);
      this.flushPara();
      return;
    }
    const caption = $(el).children('caption').get(0);
    if (caption) this.out.block(inlineText($, caption));
    const rows = $(el)
      .find('tr')
      .get()
      .filter((tr) => $(tr).closest('table').get(0) === el)
      .map((tr) =>
        tr.children
          .filter((c): c is El => isElement(c) && (c.name === 'td' || c.name === 'th'))
          .map((cell) => inlineText($, cell)),
      )
      .filter((cells) => cells.some((c) => c !== ''))
      .map((cells) => cells.join(' | '));
    if (rows.length > 0) this.out.block(rows.join('\n'), this.listDepth > 0);
  }

  /**
   * Sphinx object descriptions (`dl.py.function > dt.sig + dd`): each signature becomes a heading below the current
   * one, so a function's documentation is its own section (['Built-in Functions', 'abs(x)']).
   */
  private sphinxSignatures(el: El): void {
    this.flushPara();
    const level = 7 + this.sigDepth;
    let inHeading = false;
    let previous: string | undefined;
    for (const child of el.children) {
      if (!isElement(child)) continue;
      if (child.name === 'dt') {
        const sig = inlineText(this.$, child);
        if (previous !== 'dt') {
          this.out.heading(level, sig);
          inHeading = true;
        } else {
          this.out.block(sig); // an overload: further signatures of the same object
        }
      } else if (child.name === 'dd') {
        this.sigDepth++;
        this.walkChildren(child);
        this.flushPara();
        this.sigDepth--;
      } else {
        this.walk(child);
      }
      previous = child.name;
    }
    this.flushPara();
    if (inHeading) this.out.closeLevel(level);
  }

  finish(): void {
    this.flushPara();
  }
}

function preText($: CheerioAPI, pre: El): string {
  const $pre = $(pre).clone();
  $pre.find('br').replaceWith('\n');
  return $pre.text().replace(/\r\n?/g, '\n').replace(/^\n+/, '').replace(/\s+$/, '');
}

/** HTML → sections. Used for HTML pages and for DOCX (via mammoth's HTML). */
export function parseHtml(html: string): { title?: string; sections: ParsedSection[] } {
  // htmlparser2 (not parse5): about twice as fast on the benchmark corpus, and lenient with the same real-world markup.
  const $ = cheerio.load(html, { xml: { xmlMode: false, decodeEntities: true } });
  const pageTitle = collapse($('title').first().text());
  $(ALWAYS_DROP).remove();
  const root = contentRoot($);
  if (!root) return { sections: [] };
  removeBoilerplate($, root);

  const out = new SectionBuilder();
  const walker = new HtmlWalker($, out);
  walker.walkChildren(root);
  walker.finish();
  const sections = out.finish();

  // <title> is usually "Page — Site": when it starts with the page's own h1, the h1 is the cleaner title.
  const h1 = walker.firstH1;
  let title = pageTitle || h1;
  if (
    pageTitle &&
    h1 &&
    pageTitle !== h1 &&
    pageTitle.startsWith(h1) &&
    /^\s*[—–\-|·:]/.test(pageTitle.slice(h1.length))
  )
    title = h1;
  return { ...(title ? { title } : {}), sections };
}
