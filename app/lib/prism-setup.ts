/**
 * Imported before Prism itself: Prism would otherwise look for code blocks
 * in the page once it loads and rewrite them, under React's feet. Cloudless
 * only ever calls it by hand (see highlight.ts).
 */
if (typeof window !== "undefined") {
  const w = window as unknown as { Prism?: { manual?: boolean } };
  w.Prism = { ...w.Prism, manual: true };
}
