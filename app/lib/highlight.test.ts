import { describe, expect, it } from "vitest";
import { highlightLines } from "./highlight";

describe("highlightLines", () => {
  it("gives one line span per source line, with the source's exact text", () => {
    const code = '"""doc\nstring"""\ndef f(a):\n    return a < 2 and "<b>"\n';
    const html = highlightLines(code, "python");
    const lines = html.split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.startsWith('<span class="code-line">'))).toBe(true);
    // A token over two lines is cut at the line end, so each line stands alone.
    expect(lines[0]).toContain('<span class="token triple-quoted-string string">"""doc</span>');
    expect(lines[1]).toContain('string"""</span>');
    const text = html
      .replace(/<[^>]+>/g, "")
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">");
    expect(text.replace(/&amp;/g, "&")).toBe(code);
  });

  it("escapes markup in the source", () => {
    const html = highlightLines('const s = "</span><script>x</script>";', "javascript");
    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;/span&gt;&lt;script&gt;");
  });

  it("marks the line with an error", () => {
    const lines = highlightLines("a = 1\nb = = 2\n", "python", 2).split("\n");
    expect(lines[1]).toMatch(/^<span class="code-line error-line">/);
    expect(lines[0]).toMatch(/^<span class="code-line">/);
  });
});
