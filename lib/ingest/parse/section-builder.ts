import { tidy } from './text';
import type { ParsedSection } from './types';

/** Collects blocks of text into sections, splitting at headings and tracking the heading path. */
export class SectionBuilder {
  readonly sections: ParsedSection[] = [];
  private readonly stack: Array<{ level: number; text: string }> = [];
  private blocks: Array<{ text: string; tight: boolean }> = [];
  private readonly headingsSeen: string[] = [];

  /** A heading of `level` (1–6 for h1–h6; deeper levels for nested Sphinx object descriptions). */
  heading(level: number, text: string): void {
    this.flush();
    this.popTo(level);
    this.headingsSeen.push(text);
    this.stack.push({ level, text: text.length > 200 ? `${text.slice(0, 199)}…` : text });
  }

  /** Ends every heading of `level` or deeper: what follows belongs to the enclosing heading again. */
  closeLevel(level: number): void {
    this.flush();
    this.popTo(level);
  }

  /** A block of text; consecutive tight blocks (list items, table rows) are separated by one newline, others by two. */
  block(text: string, tight = false): void {
    if (text.trim() === '') return;
    this.blocks.push({ text, tight });
  }

  finish(): ParsedSection[] {
    this.flush();
    // A document of nothing but headings still has text: the headings themselves.
    if (this.sections.length === 0 && this.headingsSeen.length > 0) {
      this.sections.push({ text: this.headingsSeen.join('\n'), headingPath: [] });
    }
    return this.sections;
  }

  private popTo(level: number): void {
    while (this.stack.length > 0 && (this.stack[this.stack.length - 1]?.level ?? 0) >= level) this.stack.pop();
  }

  private flush(): void {
    let text = '';
    let prevTight = false;
    for (const [i, b] of this.blocks.entries()) {
      if (i > 0) text += prevTight && b.tight ? '\n' : '\n\n';
      text += b.text;
      prevTight = b.tight;
    }
    this.blocks = [];
    text = tidy(text);
    if (text !== '') this.sections.push({ text, headingPath: this.stack.map((h) => h.text) });
  }
}
