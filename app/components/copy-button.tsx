import { useEffect, useRef, useState } from "react";

/**
 * Copies a value to the clipboard and says so in a live region. Where the
 * clipboard API is refused (an http:// page that is not localhost), the text
 * is copied through a selected scratch field instead.
 */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(value);
      ok = true;
    } catch {
      ok = copyBySelection(value);
    }
    setState(ok ? "copied" : "failed");
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState("idle"), 2500);
  };
  return (
    <span className="copy">
      <button type="button" className="button small" onClick={copy}>
        {state === "copied" ? "Copied" : "Copy"}
        <span className="visually-hidden"> {label}</span>
      </button>
      <span className="visually-hidden" role="status">
        {state === "copied" ? `${label} copied` : state === "failed" ? "Could not copy" : ""}
      </span>
    </span>
  );
}

function copyBySelection(value: string): boolean {
  // Selecting the scratch field takes focus; it goes back to the button after.
  const active = document.activeElement as HTMLElement | null;
  const scratch = document.createElement("textarea");
  scratch.value = value;
  scratch.setAttribute("readonly", "");
  scratch.style.position = "fixed";
  scratch.style.opacity = "0";
  document.body.append(scratch);
  scratch.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    scratch.remove();
    active?.focus();
  }
}
