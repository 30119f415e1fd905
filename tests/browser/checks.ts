import type { Page } from "playwright-core";
import { expect } from "vitest";

/**
 * What must hold on every page, at any width: nothing wider than the screen,
 * every field labelled, one h1, and text at WCAG AA contrast (4.5:1, or 3:1
 * for large text) against the background it is drawn on.
 */
export async function checkPage(page: Page, name: string) {
  const report = await page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (css: string): Rgba => {
      const srgb = css.match(/^color\(srgb ([^)]+)\)$/);
      if (srgb) {
        const [r, g, b, a = 1] = srgb[1]!
          .split(/[\s/]+/)
          .filter(Boolean)
          .map(Number);
        return [r! * 255, g! * 255, b! * 255, a];
      }
      const [r = 0, g = 0, b = 0, a = 1] = (css.match(/[\d.]+/g) ?? []).map(Number);
      return [r, g, b, a];
    };
    const over = (top: Rgba, under: Rgba): Rgba => {
      const a = top[3];
      return [
        top[0] * a + under[0] * (1 - a),
        top[1] * a + under[1] * (1 - a),
        top[2] * a + under[2] * (1 - a),
        1,
      ];
    };
    const luminance = ([r, g, b]: Rgba) => {
      const lin = (c: number) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const backgroundOf = (el: Element): Rgba => {
      const layers: Rgba[] = [];
      for (let node: Element | null = el; node; node = node.parentElement) {
        layers.push(parse(getComputedStyle(node).backgroundColor));
      }
      // The canvas under everything: the body's colour, propagated to the root.
      let colour: Rgba = parse(getComputedStyle(document.body).backgroundColor);
      for (const layer of layers.reverse()) colour = over(layer, colour);
      return colour;
    };
    const lowContrast: string[] = [];
    for (const el of document.body.querySelectorAll("*")) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent?.trim());
      const filled = el instanceof HTMLInputElement && el.type !== "hidden" && el.value;
      if (!own && !filled) continue;
      if (el.closest(".visually-hidden, [disabled], svg") || el.getClientRects().length === 0) {
        continue;
      }
      const style = getComputedStyle(el);
      const bg = backgroundOf(el);
      const fg = over(parse(style.color), bg);
      const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a) as [number, number];
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = Number.parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        const text = (el.textContent ?? "").trim().slice(0, 30);
        lowContrast.push(`${el.tagName.toLowerCase()} "${text}" ${ratio.toFixed(2)}:1`);
      }
    }
    const unlabelled = [...document.querySelectorAll("input, select, textarea")]
      .filter((el) => (el as HTMLInputElement).type !== "hidden")
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.ariaLabel)
      .map((el) => el.outerHTML);
    const wide = [...document.body.querySelectorAll("*")]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      // Inside a scrolling box is fine (the code sample, a table).
      .filter((el) => !el.parentElement?.closest(".code-sample, .table-wrap"))
      .filter((el) => !el.closest(".visually-hidden"))
      .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      wide,
      unlabelled,
      lowContrast,
      h1: document.querySelectorAll("h1").length,
      lang: document.documentElement.lang,
    };
  });
  expect({ page: name, ...report }).toEqual({
    page: name,
    overflow: 0,
    wide: [],
    unlabelled: [],
    lowContrast: [],
    h1: 1,
    lang: "en",
  });
}
