export * from './types';
export { allowedFolder, listFolderFiles, SYNCABLE_EXTENSIONS } from './folder';
export { listSitemap, parseSitemap, SitemapError } from './sitemap';
export { listSource, MAX_SOURCE_LOCATIONS } from './list';
