import { describe, expect, it } from 'vitest';
import { parseSitemap } from './sitemap';

describe('parseSitemap', () => {
  it('reads the page URLs of a <urlset>, entities decoded, non-http locations left out', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc> https://example.com/a?x=1&amp;y=2 </loc><lastmod>2026-01-01</lastmod></url>
        <url><loc>http://example.com/b</loc></url>
        <url><loc>ftp://example.com/c</loc></url>
        <url><loc>javascript:alert(1)</loc></url>
      </urlset>`;
    expect(parseSitemap(xml)).toEqual({
      urls: ['https://example.com/a?x=1&y=2', 'http://example.com/b'],
      sitemaps: [],
    });
  });

  it('reads the nested sitemaps of a <sitemapindex>', () => {
    const xml = `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <sitemap><loc>https://example.com/s1.xml</loc></sitemap>
        <sitemap><loc>https://example.com/s2.xml</loc></sitemap>
      </sitemapindex>`;
    expect(parseSitemap(xml)).toEqual({
      urls: [],
      sitemaps: ['https://example.com/s1.xml', 'https://example.com/s2.xml'],
    });
  });

  it('takes no <loc> outside the sitemap structure', () => {
    expect(parseSitemap('<html><body><loc>https://example.com/x</loc></body></html>')).toEqual({
      urls: [],
      sitemaps: [],
    });
  });
});
