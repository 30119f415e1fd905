import { Form, useNavigation } from "@remix-run/react";
import { type ComponentProps, type ReactNode, type RefObject, useEffect } from "react";
import { AlertIcon, CheckIcon } from "./icons";

interface FieldFrameProps {
  label: string;
  name: string;
  errors?: string[];
  hint?: ReactNode;
}

/** The attributes that tie a control to its label, error and hint. */
export interface ControlProps {
  id: string;
  name: string;
  "aria-invalid": true | undefined;
  "aria-describedby": string | undefined;
}

/**
 * A label, one control and its error (announced) or hint, wired for screen
 * readers; `control` renders the input, select or textarea with the props given.
 */
export function FieldFrame({
  label,
  name,
  errors,
  hint,
  control,
}: FieldFrameProps & { control: (props: ControlProps) => ReactNode }) {
  const id = `field-${name}`;
  const error = errors?.[0];
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control({
        id,
        name,
        "aria-invalid": error ? true : undefined,
        "aria-describedby": error ? `${id}-error` : hint ? `${id}-hint` : undefined,
      })}
      {error ? (
        <ErrorText id={`${id}-error`}>{error}</ErrorText>
      ) : hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function ErrorText({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p className="field-error" id={id} role="alert">
      <AlertIcon />
      <span>{children}</span>
    </p>
  );
}

/** A labelled input with its error message wired for screen readers. */
export function Field({
  label,
  name,
  errors,
  hint,
  ...input
}: FieldFrameProps & ComponentProps<"input">) {
  return (
    <FieldFrame
      label={label}
      name={name}
      errors={errors}
      hint={hint}
      control={(props) => <input {...props} {...input} />}
    />
  );
}

/**
 * The form-level answer: an error (announced at once) or a notice. `children`
 * is the way forward that belongs with the message, such as a link.
 */
export function FormMessage({
  error,
  notice,
  children,
}: {
  error?: string;
  notice?: string;
  children?: ReactNode;
}) {
  if (!error && !notice) return null;
  return (
    <div
      className={error ? "alert alert-error" : "alert alert-ok"}
      role={error ? "alert" : "status"}
    >
      {error ? <AlertIcon /> : <CheckIcon />}
      <div className="alert-body">
        <p>{error ?? notice}</p>
        {children}
      </div>
    </div>
  );
}

/**
 * After a failed submit, puts the keyboard in the first field to fix, so
 * nobody has to hunt for it (and screen readers read its error with it).
 * `answer` is the action data or client errors: a new value means a new attempt.
 */
export function useFocusFirstInvalid(form: RefObject<HTMLFormElement | null>, answer: unknown) {
  useEffect(() => {
    if (!answer) return;
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [form, answer]);
}

/**
 * A submit button that shows progress while its form is being sent. On a
 * page with several forms, `intent` names this one's (its hidden `intent`
 * field), so only its own button says it is busy.
 */
export function SubmitButton({
  children,
  pendingText,
  intent,
  className = "button primary",
  ...rest
}: ComponentProps<"button"> & { pendingText?: string; intent?: string }) {
  const navigation = useNavigation();
  const pending =
    navigation.state === "submitting" &&
    (intent === undefined || navigation.formData?.get("intent") === intent);
  return (
    <button type="submit" className={className} disabled={pending} aria-busy={pending} {...rest}>
      {pending && pendingText ? pendingText : children}
    </button>
  );
}

export { Form };
