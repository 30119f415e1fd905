import "./prism-setup";
import Prism from "prismjs";
import "prismjs/components/prism-python";

export type CodeLanguage = "python" | "javascript";

/** The highlighter's language for a function runtime. */
export function languageOf(runtime: string): CodeLanguage {
  return runtime === "python" ? "python" : "javascript";
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Highlighted HTML with one `<span class="code-line">` per source line (the
 * stylesheet numbers them), so tokens that span lines, such as docstrings,
 * are cut at each line end and a line can be marked (`errorLine`, 1-based).
 * The text is exactly the source's, so it lies over an editor's textarea
 * character for character.
 */
export function highlightLines(code: string, language: CodeLanguage, errorLine?: number): string {
  const lines: string[] = [];
  let current = "";
  const emit = (text: string, types: string[]) => {
    text.split("\n").forEach((part, i) => {
      if (i > 0) {
        lines.push(current);
        current = "";
      }
      if (!part) return;
      current += types.length
        ? `<span class="token ${types.join(" ")}">${escapeHtml(part)}</span>`
        : escapeHtml(part);
    });
  };
  const walk = (stream: Prism.TokenStream, types: string[]) => {
    if (typeof stream === "string") emit(stream, types);
    else if (Array.isArray(stream)) for (const item of stream) walk(item, types);
    else {
      const alias = stream.alias ? ([] as string[]).concat(stream.alias) : [];
      walk(stream.content, [...types, stream.type, ...alias]);
    }
  };
  const grammar = Prism.languages[language];
  walk(grammar ? Prism.tokenize(code, grammar) : code, []);
  lines.push(current);
  return lines
    .map(
      (line, i) =>
        `<span class="code-line${i + 1 === errorLine ? " error-line" : ""}">${line}</span>`,
    )
    .join("\n");
}
