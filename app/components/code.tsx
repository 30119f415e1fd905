import { type KeyboardEvent, useEffect, useState } from "react";
import EditorModule from "react-simple-code-editor";
import { type CodeLanguage, highlightLines } from "~/lib/highlight";

// The package is CommonJS with `exports.default`: Node's ESM loader (the
// server build) hands over the whole `exports` object as the default.
const Editor =
  (EditorModule as unknown as { default?: typeof EditorModule }).default ?? EditorModule;

/**
 * The code editor: a real <textarea> (labelled, submitted with its form like
 * any field, usable before the page's scripts load) under a highlighted copy
 * of its text, line numbered. Tab indents; after Escape, Tab moves on.
 */
export function CodeEditor({
  id,
  name,
  value,
  onChange,
  language,
  errorLine,
  describedBy,
  invalid,
}: {
  id: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  language: CodeLanguage;
  errorLine?: number;
  describedBy?: string;
  invalid?: boolean;
}) {
  // The editor passes no ARIA attributes to its textarea; they are set here.
  useEffect(() => {
    const textarea = document.getElementById(id);
    if (!textarea) return;
    if (describedBy) textarea.setAttribute("aria-describedby", describedBy);
    else textarea.removeAttribute("aria-describedby");
    if (invalid) textarea.setAttribute("aria-invalid", "true");
    else textarea.removeAttribute("aria-invalid");
  }, [id, describedBy, invalid]);
  const tabSize = language === "python" ? 4 : 2;
  const [tabLeaves, setTabLeaves] = useState(false);
  return (
    <div className={`code-frame code-editor${invalid ? " invalid" : ""}`}>
      <Editor
        value={value}
        onValueChange={onChange}
        highlight={(code) => highlightLines(code, language, errorLine)}
        onKeyDown={(event) => {
          // Escape, then Tab (or Shift+Tab), leaves the editor where it stands.
          // The editor's own Escape drops focus to the top of the page instead.
          if (event.key === "Escape") {
            event.preventDefault();
            setTabLeaves(true);
            return;
          }
          if (!["Tab", "Shift"].includes(event.key)) setTabLeaves(false);
          indentAsYouType(
            event as KeyboardEvent<HTMLTextAreaElement>,
            language,
            " ".repeat(tabSize),
          );
        }}
        onBlur={() => setTabLeaves(false)}
        ignoreTabKey={tabLeaves}
        textareaId={id}
        name={name}
        tabSize={tabSize}
        insertSpaces
        padding={{ top: 12, right: 12, bottom: 12, left: "3.5rem" }}
        className="code-editor-body"
        preClassName="code-lines"
        textareaClassName="code-editor-input"
      />
    </div>
  );
}

/**
 * Indentation as code editors do it: Enter after a line that opens a block
 * (`:` in Python, `{` `[` `(` in JavaScript) indents one step more, and a
 * closing bracket typed on an empty line steps back. The text goes in through
 * the browser's own editing, so the editor's undo history keeps it.
 */
function indentAsYouType(
  event: KeyboardEvent<HTMLTextAreaElement>,
  language: CodeLanguage,
  unit: string,
) {
  const textarea = event.currentTarget;
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  if (start !== end || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.nativeEvent.isComposing) return;
  const before = value.slice(value.lastIndexOf("\n", start - 1) + 1, start);
  if (event.key === "Enter" && !event.shiftKey) {
    const indent = /^[ \t]*/.exec(before)?.[0] ?? "";
    const opens =
      language === "python"
        ? /:\s*$/.test(before) && !/^\s*#/.test(before)
        : /[{[(]\s*$/.test(before);
    if (document.execCommand("insertText", false, `\n${indent}${opens ? unit : ""}`)) {
      event.preventDefault();
    }
  } else if (
    language === "javascript" &&
    event.key.length === 1 &&
    "}])".includes(event.key) &&
    /^[ \t]+$/.test(before) &&
    before.endsWith(unit)
  ) {
    textarea.setSelectionRange(start - unit.length, start);
    if (document.execCommand("insertText", false, event.key)) event.preventDefault();
    else textarea.setSelectionRange(start, start);
  }
}

/** Code shown read-only, highlighted and line numbered like the editor. */
export function CodeView({
  code,
  language,
  label,
}: {
  code: string;
  language: CodeLanguage;
  label: string;
}) {
  return (
    // Focusable and labelled, so a keyboard can scroll a long file.
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard
    <section className="code-frame code-view" tabIndex={0} aria-label={label}>
      <pre
        className="code-lines"
        // highlightLines escapes the source; its only markup is its own <span>s.
        // A file's final newline ends its last line; it does not start a numbered empty one.
        // biome-ignore lint/security/noDangerouslySetInnerHtml: the source is escaped by highlightLines
        dangerouslySetInnerHTML={{ __html: highlightLines(code.replace(/\n$/, ""), language) }}
      />
    </section>
  );
}
