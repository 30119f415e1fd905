import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useRef, useState } from "react";
import { AuthLayout } from "~/components/auth-layout";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import { OAuthButtons } from "~/components/oauth-buttons";
import { formAction, formValues } from "~/lib/form-errors.server";
import { requireAnonymous } from "~/lib/guards.server";
import { serverCaller } from "~/lib/trpc.server";
import { registerSchema } from "../../server/auth/schemas";

export const meta: MetaFunction = () => [{ title: "Create an account · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireAnonymous(request, context);
  return { providers: await caller.auth.providers() };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = formValues(form, ["name", "email", "password"]);
  const { caller } = await serverCaller(request, context);
  return formAction(async () => ({ ok: true as const, ...(await caller.auth.register(values)) }), {
    name: values.name,
    email: values.email,
  });
}

export default function Register() {
  const { providers } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  // Same schema as the server: errors show before the round trip, and again if the server disagrees.
  const [clientErrors, setClientErrors] = useState<Partial<Record<string, string[]>>>({});
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, result && !result.ok ? result : undefined);
  useFocusFirstInvalid(form, Object.keys(clientErrors).length > 0 ? clientErrors : undefined);
  if (result?.ok) {
    return (
      <AuthLayout title="Check your email">
        <FormMessage notice={result.message} />
        <p className="muted">
          The link works for 24 hours. No email? Look in your spam folder or{" "}
          <Link to="/verify">ask for a new link</Link>.
        </p>
      </AuthLayout>
    );
  }
  const failure = result && !result.ok ? result : undefined;
  const errors = { ...failure?.fieldErrors, ...clientErrors };
  return (
    <AuthLayout
      title="Create your account"
      subtitle="Deploy your first function in a minute."
      footer={
        <>
          Already have an account? <Link to="/login">Log in</Link>
        </>
      }
    >
      <FormMessage error={failure?.formError} />
      <Form
        method="post"
        className="stack"
        noValidate
        ref={form}
        onSubmit={(event) => {
          const data = Object.fromEntries(new FormData(event.currentTarget));
          const parsed = registerSchema.safeParse(data);
          if (!parsed.success) {
            event.preventDefault();
            const fieldErrors: Record<string, string[]> = {};
            for (const issue of parsed.error.issues) {
              const key = String(issue.path[0]);
              fieldErrors[key] = [...(fieldErrors[key] ?? []), issue.message];
            }
            setClientErrors(fieldErrors);
          } else setClientErrors({});
        }}
      >
        <Field
          label="Name"
          name="name"
          autoComplete="name"
          required
          maxLength={100}
          defaultValue={failure?.values?.name}
          errors={errors.name}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          defaultValue={failure?.values?.email}
          errors={errors.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          maxLength={128}
          hint="At least 8 characters."
          errors={errors.password}
        />
        <SubmitButton className="button primary block" pendingText="Creating account…">
          Create account
        </SubmitButton>
      </Form>
      <OAuthButtons providers={providers} />
    </AuthLayout>
  );
}
