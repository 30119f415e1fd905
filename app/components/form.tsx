import { Form, useNavigation } from "@remix-run/react";
import type { ComponentProps, ReactNode } from "react";

/** A labelled input with its error message wired for screen readers. */
export function Field({
  label,
  name,
  errors,
  hint,
  ...input
}: {
  label: string;
  name: string;
  errors?: string[];
  hint?: ReactNode;
} & ComponentProps<"input">) {
  const id = `field-${name}`;
  const error = errors?.[0];
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
        {...input}
      />
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function FormMessage({ error, notice }: { error?: string; notice?: string }) {
  if (error) {
    return (
      <div className="alert alert-error" role="alert">
        {error}
      </div>
    );
  }
  if (notice) {
    return (
      <div className="alert alert-ok" role="status">
        {notice}
      </div>
    );
  }
  return null;
}

/** A submit button that shows progress while its form is being sent. */
export function SubmitButton({
  children,
  pendingText,
  className = "button primary",
  ...rest
}: ComponentProps<"button"> & { pendingText?: string }) {
  const navigation = useNavigation();
  const pending = navigation.state === "submitting";
  return (
    <button type="submit" className={className} disabled={pending} aria-busy={pending} {...rest}>
      {pending && pendingText ? pendingText : children}
    </button>
  );
}

export { Form };
