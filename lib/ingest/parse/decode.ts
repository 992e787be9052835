/** Bytes → text: byte-order marks, the MIME type's charset, and Windows-1252 text that is not UTF-8. */
import { ParseError } from './types';

export function startsWith(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}

export function parseMime(mimeType: string | undefined): { type: string; charset?: string } | undefined {
  if (!mimeType) return undefined;
  const [type = '', ...params] = mimeType.split(';').map((p) => p.trim());
  const charset = params.map((p) => /^charset\s*=\s*"?([^";]+)"?$/i.exec(p)?.[1]).find((c) => c !== undefined);
  return { type: type.toLowerCase(), ...(charset ? { charset: charset.toLowerCase() } : {}) };
}

/**
 * Bytes → string. UTF-8 (BOM stripped), UTF-16 with a BOM, or the charset named in the MIME type. Text that is not
 * UTF-8 but reads as Windows-1252 / Latin-1 (few high bytes, none of them part of valid UTF-8) is decoded as such;
 * other invalid sequences become U+FFFD, and text that is mostly U+FFFD is refused as corrupt.
 */
export function decodeText(bytes: Buffer, mimeType?: string): string {
  let text: string | undefined;
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) text = new TextDecoder('utf-8').decode(bytes.subarray(3));
  else if (startsWith(bytes, [0xff, 0xfe])) text = new TextDecoder('utf-16le').decode(bytes.subarray(2));
  else if (startsWith(bytes, [0xfe, 0xff])) text = new TextDecoder('utf-16be').decode(bytes.subarray(2));
  else {
    const charset = parseMime(mimeType)?.charset;
    if (charset && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii') {
      try {
        text = new TextDecoder(charset).decode(bytes);
      } catch {
        // Unknown label: fall through to UTF-8.
      }
    }
  }
  if (text === undefined) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      const lenient = new TextDecoder('utf-8').decode(bytes);
      const replaced = count(lenient, (c) => c === 0xfffd);
      const validNonAscii = count(lenient, (c) => c > 0x7f && c !== 0xfffd);
      const highBytes = bytes.reduce((n, b) => n + (b > 0x7f ? 1 : 0), 0);
      if (validNonAscii < replaced && highBytes / bytes.length < 0.3) {
        text = new TextDecoder('windows-1252').decode(bytes);
      } else {
        const visible = count(lenient, (c) => c > 0x20);
        if (replaced > visible / 2) {
          throw new ParseError('corrupt', 'The file is not readable text: most of it is not valid UTF-8.');
        }
        text = lenient;
      }
    }
  }
  // Control characters other than tab / newline / carriage return / form feed carry no text.
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, '');
}

function count(s: string, pred: (code: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (pred(s.charCodeAt(i))) n++;
  return n;
}
