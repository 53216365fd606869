/**
 * The Content-Security-Policy of every HTML page the gateway serves (src/web and the /docs page):
 * only the gateway's own origin, no CDN, no inline script or style (bars are SVG attributes;
 * Swagger UI 5 runs under it too: test/browser/docs.browser.test.ts).
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ')
