import type { Middleware } from 'koa';
import { badRequest } from '../lib/errors';

/** Deeper JSON than this is refused at the door: nothing we accept nests deeper, and deep values overflow recursive code later. */
export const MAX_JSON_DEPTH = 64;

/** NUL (Postgres text cannot hold it) or a surrogate without its pair (it would be stored as U+FFFD). */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const INVALID_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isValidText = (s: string) => !INVALID_TEXT.test(s);

export type InputPlace = 'body' | 'query' | 'path' | 'multipart';

// eslint-disable-next-line no-control-regex -- control characters are escaped for the message
const unprintable = /[\u0000-\u001f\uD800-\uDFFF]/g;

/** 400 invalid_characters naming where the text was; the field is shown with control characters escaped. */
export function invalidCharacters(place: InputPlace, path: Array<string | number>) {
  const field = path
    .map((p) => String(p).replace(unprintable, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
    .join('.');
  const where = field ? `${place} field ${field}` : `The request ${place}`;
  return badRequest(
    'invalid_characters',
    `${where} contains a NUL character or an unpaired surrogate; such text cannot be stored.`,
    { in: place, path },
  );
}

export function assertValidText(s: string, place: InputPlace, path: Array<string | number>) {
  if (!isValidText(s)) throw invalidCharacters(place, path);
}

interface Node {
  value: unknown;
  depth: number;
  key?: string | number;
  parent?: Node;
}

const pathOf = (node: Node, key?: string | number) => {
  const path: Array<string | number> = key === undefined ? [] : [key];
  for (let n: Node | undefined = node; n && n.key !== undefined; n = n.parent) path.unshift(n.key);
  return path;
};

/**
 * Walks parsed JSON without recursion (a 20,000-deep body must not overflow the stack here): refuses invalid text in
 * any string or key, and nesting deeper than `maxDepth`. The body limit bounds the work.
 */
export function checkJson(root: unknown, place: InputPlace, maxDepth = MAX_JSON_DEPTH) {
  const stack: Node[] = [{ value: root, depth: 0 }];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const { value, depth } = node;
    if (typeof value === 'string') {
      if (!isValidText(value)) throw invalidCharacters(place, pathOf(node));
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= maxDepth)
      throw badRequest('json_too_deep', `The request ${place} nests deeper than ${maxDepth} levels.`, {
        in: place,
        maxDepth,
      });
    const entries: Array<[string | number, unknown]> = Array.isArray(value)
      ? value.map((v, i) => [i, v])
      : Object.entries(value);
    // Pushed in reverse so the first invalid field in document order is the one reported.
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      if (typeof key === 'string' && !isValidText(key)) throw invalidCharacters(place, pathOf(node, key));
      stack.push({ value: child, depth: depth + 1, key, parent: node });
    }
  }
}

function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // malformed escapes: the router leaves them undecoded too
  }
}

/**
 * After the body parser, before any route: every JSON string (and key) of the body, every query parameter and the
 * decoded path must be storable text, and the body at most MAX_JSON_DEPTH deep. One check here instead of one per field.
 */
export function inputGuard(): Middleware {
  return async (ctx, next) => {
    if (!isValidText(decodedPath(ctx.path))) throw invalidCharacters('path', []);
    checkJson(ctx.query, 'query');
    if (ctx.request.body !== undefined) checkJson(ctx.request.body, 'body');
    await next();
  };
}
