/** Markdown → sections (marked lexer): heading paths, lists, tables; inline HTML through the HTML walker. */
import * as cheerio from 'cheerio';
import { Lexer, type Token, type Tokens } from 'marked';
import { ALWAYS_DROP, HtmlWalker } from './html';
import { SectionBuilder } from './section-builder';
import { collapse, decodeEntities } from './text';
import type { ParsedSection } from './types';

/** YAML front matter (`---` … `---`) at the top of a Markdown file; its title is kept as a fallback. */
function stripFrontMatter(src: string): { body: string; title?: string } {
  const m = /^---[ \t]*\n((?:[A-Za-z0-9_-]+[ \t]*:.*\n?(?:[ \t].*\n|-.*\n)*)+?)(?:---|\.\.\.)[ \t]*(?:\n|$)/.exec(src);
  if (!m) return { body: src };
  const title = /^title[ \t]*:[ \t]*(.+)$/m
    .exec(m[1] ?? '')?.[1]
    ?.trim()
    .replace(/^(['"])(.*)\1$/, '$2');
  return { body: src.slice(m[0].length), ...(title ? { title } : {}) };
}

function mdInline(tokens: Token[] | undefined): string {
  if (!tokens) return '';
  let s = '';
  for (const t of tokens) {
    switch (t.type) {
      case 'text':
        s += t.tokens ? mdInline(t.tokens) : decodeEntities(String(t.text)).replace(/[ \t]*\n[ \t]*/g, ' ');
        break;
      case 'escape':
      case 'codespan':
        s += String(t.text);
        break;
      case 'image':
        s += String(t.text);
        break;
      case 'br':
        s += '\n';
        break;
      case 'html':
        if (/^<br\s*\/?>$/i.test(String(t.text))) s += '\n';
        break;
      case 'checkbox':
        break;
      default: {
        const g = t as Tokens.Generic;
        s += g.tokens ? mdInline(g.tokens) : typeof g.text === 'string' ? decodeEntities(g.text) : '';
      }
    }
  }
  return s;
}

function mdList(list: Tokens.List, depth: number): string[] {
  const lines: string[] = [];
  const start = typeof list.start === 'number' ? list.start : 1;
  list.items.forEach((item, i) => {
    const indent = '  '.repeat(depth);
    let marker = list.ordered ? `${start + i}. ` : '- ';
    if (item.task) marker += item.checked ? '[x] ' : '[ ] ';
    let first = true;
    const push = (text: string) => {
      for (const line of text.split('\n')) {
        lines.push(first ? indent + marker + line : `${indent}  ${line}`);
        first = false;
      }
    };
    for (const t of item.tokens) {
      if (t.type === 'list') {
        if (first) push('');
        lines.push(...mdList(t as Tokens.List, depth + 1));
      } else if (t.type === 'code') {
        push(String(t.text));
      } else if (t.type === 'text' || t.type === 'paragraph' || t.type === 'heading') {
        push(mdInline(t.tokens ?? []).trim());
      } else if (t.type !== 'space' && t.type !== 'checkbox') {
        const text = 'tokens' in t && t.tokens ? mdInline(t.tokens) : 'text' in t ? String(t.text) : '';
        if (text.trim()) push(text.trim());
      }
    }
    if (first) push('');
  });
  return lines;
}

function mdBlocks(tokens: Token[], out: SectionBuilder, onHeading: (depth: number, text: string) => void): void {
  for (const t of tokens) {
    switch (t.type) {
      case 'heading': {
        const text = collapse(mdInline(t.tokens));
        if (text) {
          onHeading(t.depth as number, text);
          out.heading(t.depth as number, text);
        }
        break;
      }
      case 'paragraph':
        out.block(mdInline(t.tokens).trim());
        break;
      case 'text':
        out.block((t.tokens ? mdInline(t.tokens) : String(t.text)).trim());
        break;
      case 'code':
        out.block(String(t.text));
        break;
      case 'list':
        out.block(mdList(t as Tokens.List, 0).join('\n'));
        break;
      case 'blockquote':
        mdBlocks((t as Tokens.Blockquote).tokens, out, onHeading);
        break;
      case 'table': {
        const table = t as Tokens.Table;
        const rows = [table.header, ...table.rows].map((cells) =>
          cells.map((c) => collapse(mdInline(c.tokens))).join(' | '),
        );
        out.block(rows.join('\n'));
        break;
      }
      case 'html': {
        const $ = cheerio.load(String(t.text), null, false);
        $(ALWAYS_DROP).remove();
        const walker = new HtmlWalker($, out);
        walker.walkChildren($.root().get(0) ?? { children: [] });
        walker.finish();
        if (walker.firstH1) onHeading(1, walker.firstH1);
        break;
      }
      case 'space':
      case 'def':
      case 'hr':
        break;
      default: {
        const g = t as Tokens.Generic;
        if (g.tokens) out.block(mdInline(g.tokens).trim());
        else if (typeof g.text === 'string') out.block(g.text.trim());
      }
    }
  }
}

export function parseMarkdown(src: string): { title?: string; sections: ParsedSection[] } {
  const { body, title: frontTitle } = stripFrontMatter(src.replace(/\r\n?/g, '\n'));
  const tokens = Lexer.lex(body, { gfm: true });
  const out = new SectionBuilder();
  let title: string | undefined;
  mdBlocks(tokens, out, (depth, text) => {
    if (depth === 1 && title === undefined) title = text;
  });
  title ??= frontTitle;
  return { ...(title ? { title } : {}), sections: out.finish() };
}
