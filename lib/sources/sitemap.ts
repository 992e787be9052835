import * as cheerio from 'cheerio';
import { safeFetch, type SafeFetchOptions } from '../net/safe-fetch';

/** Sitemaps one listing reads at most, nested indexes included. */
const MAX_SITEMAPS = 50;

/** The page URLs (`<loc>` of `<urlset>`) and nested sitemaps (`<loc>` of `<sitemapindex>`) of one sitemap document. */
export function parseSitemap(xml: string): { urls: string[]; sitemaps: string[] } {
  const $ = cheerio.load(xml, { xml: true });
  const locs = (selector: string) =>
    $(selector)
      .map((_, el) => $(el).text().trim())
      .get()
      .filter((u) => /^https?:\/\//i.test(u));
  return { urls: locs('urlset > url > loc'), sitemaps: locs('sitemapindex > sitemap > loc') };
}

/**
 * Every page URL of a sitemap, following nested sitemap indexes (each sitemap once), every fetch through the SSRF
 * guard. The top sitemap failing fails the listing (a sync must not read an outage as "every page vanished"); a
 * nested one failing fails the listing too, for the same reason.
 */
export async function listSitemap(
  url: string,
  fetchOptions: Omit<SafeFetchOptions, 'allowedContentTypes'>,
  maxUrls: number,
): Promise<string[]> {
  const seen = new Set<string>();
  const urls = new Set<string>();
  const queue = [url];
  while (queue.length) {
    const next = queue.shift()!;
    if (seen.has(next)) continue;
    if (seen.size >= MAX_SITEMAPS) throw new SitemapError(`More than ${MAX_SITEMAPS} sitemaps under ${url}.`);
    seen.add(next);
    const res = await safeFetch(next, {
      ...fetchOptions,
      allowedContentTypes: ['application/xml', 'text/xml', 'text/plain'],
    });
    const parsed = parseSitemap(res.bytes.toString('utf8'));
    if (
      !parsed.urls.length &&
      !parsed.sitemaps.length &&
      !/<(urlset|sitemapindex)[\s>]/.test(res.bytes.toString('utf8'))
    )
      throw new SitemapError(`${next} is not a sitemap (no <urlset> or <sitemapindex>).`);
    for (const u of parsed.urls) {
      urls.add(u);
      if (urls.size > maxUrls) throw new SitemapError(`More than ${maxUrls} URLs in the sitemap ${url}.`);
    }
    queue.push(...parsed.sitemaps);
  }
  return [...urls];
}

/** A sitemap that cannot be used as it is: retrying will not help. */
export class SitemapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SitemapError';
  }
}
