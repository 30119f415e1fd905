import type { ActionFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData } from "@remix-run/react";
import { useRef } from "react";
import { AuthLayout } from "~/components/auth-layout";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import { formAction, formValues } from "~/lib/form-errors.server";
import { serverCaller } from "~/lib/trpc.server";

export const meta: MetaFunction = () => [{ title: "Reset your password · Cloudless" }];

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = formValues(form, ["email"]);
  const { caller } = await serverCaller(request, context);
  return formAction(
    async () => ({ ok: true as const, ...(await caller.auth.requestPasswordReset(values)) }),
    values,
  );
}

export default function ForgotPassword() {
  const result = useActionData<typeof action>();
  const failure = result && !result.ok ? result : undefined;
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, failure);
  return (
    <AuthLayout
      title="Reset your password"
      subtitle="We will email you a link to choose a new one. It works for an hour."
      footer={<Link to="/login">Back to log in</Link>}
    >
      <FormMessage error={failure?.formError} notice={result?.ok ? result.message : undefined} />
      {result?.ok ? null : (
        <Form method="post" className="stack" noValidate ref={form}>
          <Field
            label="Email"
            name="email"
            type="email"
            autoComplete="email"
            required
            defaultValue={failure?.values?.email}
            errors={failure?.fieldErrors?.email}
          />
          <SubmitButton className="button primary block" pendingText="Sending…">
            Send reset link
          </SubmitButton>
        </Form>
      )}
    </AuthLayout>
  );
}
