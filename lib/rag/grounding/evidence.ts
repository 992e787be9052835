/** The evidence, analysed once per check: passages split into sentences (and at semicolons), each tokenized. */
import type { GroundingCheckInput } from '../../contracts';
import { splitSentences } from '../../llm/text';
import { MONTHS, negatedStems, stemWord, tokenize, type Token } from './lexicon';
import { anchorsOf, codeNames, nameWords, type Anchor, type CodeName } from './names';

/** A passage the answer is checked against: the same shape as the grounding workflow's passages. */
export type Evidence = GroundingCheckInput['passages'][number];

export interface Sentence {
  text: string;
  evidence: number;
  start: number;
  end: number;
  tokens: Token[];
  words: string[];
  stems: Set<string>;
  /** Concatenations of adjacent words (`time out` → `timeout`). */
  joined: Set<string>;
  codes: CodeName[];
  /** Capitalised words not at the start, and acronyms (lower case). */
  names: Set<string>;
  months: Set<string>;
  /** Stems in the scope of a negation. */
  negated: Set<string>;
  anchors: Anchor[];
}

export interface Passage {
  id: string;
  text: string;
  sentences: Sentence[];
  stems: Set<string>;
  words: string[];
}

export interface EvidenceIndex {
  passages: Passage[];
  /** Every stem of every passage: claim words outside it are new information. */
  stems: Set<string>;
}

export function indexEvidence(evidence: Evidence[]): EvidenceIndex {
  const passages = evidence.map((e, i): Passage => {
    const sentences = evidenceUnits(e.text ?? '').map((s) => analyseSentence(s.text, i, s.start, s.end));
    const stems = new Set<string>();
    for (const s of sentences) for (const st of s.stems) stems.add(st);
    return { id: e.id, text: e.text ?? '', sentences, stems, words: sentences.flatMap((s) => s.words) };
  });
  const stems = new Set<string>();
  for (const p of passages) for (const s of p.stems) stems.add(s);
  return { passages, stems };
}

/** Sentences, split further at semicolons: "defaults to False; if check is true ..." states two things. */
function evidenceUnits(text: string): { text: string; start: number; end: number }[] {
  const out: { text: string; start: number; end: number }[] = [];
  for (const s of splitSentences(text)) {
    let from = 0;
    // "if given, ...; otherwise ..." is one statement: the second part only means something with the first.
    for (const m of s.text.matchAll(/;\s+(?!(?:otherwise|else|unless|except)\b)/gi)) {
      const part = s.text.slice(from, m.index);
      if (part.trim()) out.push({ text: part, start: s.start + from, end: s.start + m.index });
      from = m.index + m[0].length;
    }
    out.push({ text: s.text.slice(from), start: s.start + from, end: s.end });
  }
  return out;
}

function analyseSentence(text: string, evidence: number, start: number, end: number): Sentence {
  const tokens = tokenize(text);
  const codes = codeNames(text);
  const names = nameWords(text);
  const words = tokens.map((t) => t.word);
  const stems = new Set(tokens.filter((t) => !t.stop || t.negation).map((t) => t.stem));
  const joined = new Set<string>();
  for (let i = 0; i + 1 < words.length; i++) joined.add(stemWord(`${words[i]}${words[i + 1]}`));
  return {
    text,
    evidence,
    start,
    end,
    tokens,
    words,
    stems,
    joined,
    codes,
    names,
    months: new Set(tokens.filter((t) => MONTHS.has(t.word)).map((t) => t.word)),
    negated: negatedStems(tokens),
    anchors: anchorsOf(text, tokens, codes, names),
  };
}
