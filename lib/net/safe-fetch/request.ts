/** One HTTP(S) GET hop of `safeFetch` over the pinned addresses, and reading its body under a size cap. */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { normName, stripBrackets } from './address';
import { pinnedLookup, type Pinned } from './resolve';
import { FetchRefusedError } from './types';

/** Slack on the compressed (wire) bytes of an encoded body; the real cap applies to the decompressed bytes. */
const ENCODED_SLACK_BYTES = 64 * 1024;

export function sendRequest(
  url: URL,
  pinned: Pinned[],
  userAgent: string,
  signal: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<http.IncomingMessage> {
  const isHttps = url.protocol === 'https:';
  const host = stripBrackets(url.hostname);
  const literal = isIP(host) !== 0;
  const options: https.RequestOptions = {
    method: 'GET',
    // For names, `lookup` pins the connection to the checked addresses; for literals, the literal was checked.
    hostname: literal ? (pinned[0]?.address ?? host) : host,
    port: url.port || (isHttps ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: {
      Host: url.host,
      'User-Agent': userAgent,
      Accept: '*/*',
      'Accept-Encoding': 'gzip, deflate, br',
      Connection: 'close',
      ...extraHeaders,
    },
    agent: false, // no pooled sockets: every hop connects to its own checked address
    signal,
    ...(literal ? {} : { lookup: pinnedLookup(pinned) }),
    ...(isHttps && !literal ? { servername: normName(host) } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(options, resolve);
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Body

function limiter(max: number, onExceed: () => Error): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > max) callback(onExceed());
      else callback(null, chunk);
    },
  });
}

function decoderFor(encoding: string): Transform | null {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return null;
  }
}

export async function readBody(
  res: http.IncomingMessage,
  url: URL,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const encodings = (res.headers['content-encoding'] ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e && e !== 'identity');
  const decoders: Transform[] = [];
  for (const encoding of [...encodings].reverse()) {
    const decoder = decoderFor(encoding);
    if (!decoder) {
      res.destroy();
      throw new FetchRefusedError(
        'content_type_not_allowed',
        url.href,
        `Unsupported Content-Encoding ${JSON.stringify(encoding)}.`,
      );
    }
    decoders.push(decoder);
  }
  const tooLarge = () =>
    new FetchRefusedError('too_large', url.href, `The response body is larger than ${maxBytes} bytes.`);
  const wireCap = decoders.length ? maxBytes + ENCODED_SLACK_BYTES : maxBytes;
  const declared = Number(res.headers['content-length']);
  if (res.headers['content-length'] !== undefined && Number.isFinite(declared) && declared > wireCap) {
    res.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const stages: NodeJS.ReadWriteStream[] = [limiter(wireCap, tooLarge), ...decoders];
  if (decoders.length) stages.push(limiter(maxBytes, tooLarge)); // zip bombs stop here, a zlib chunk past the cap
  await pipeline([res, ...stages, sink], { signal });
  return Buffer.concat(chunks);
}

export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
