import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useRef } from "react";
import { AuthLayout } from "~/components/auth-layout";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import { formAction, formValues } from "~/lib/form-errors.server";
import { serverCaller } from "~/lib/trpc.server";

export const meta: MetaFunction = () => [{ title: "Verify your email · Cloudless" }];

/**
 * GET /verify?token=… shows a confirm button (mail scanners that prefetch
 * links must not use up the token); POST verifies. Without a token, the page
 * asks for an address to send a new link to.
 */
export async function loader({ request }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  return {
    token: url.searchParams.get("token")?.slice(0, 300) ?? null,
    email: url.searchParams.get("email")?.slice(0, 254) ?? "",
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = formValues(form, ["intent", "token", "email"]);
  const { caller } = await serverCaller(request, context);
  if (values.intent === "verify") {
    return formAction(async () => {
      await caller.auth.verifyEmail({ token: values.token });
      throw redirect("/login?notice=verified");
    });
  }
  return formAction(
    async () => ({ ok: true as const, ...(await caller.auth.resendVerification(values)) }),
    { email: values.email },
  );
}

export default function Verify() {
  const { token, email } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const failure = result && !result.ok ? result : undefined;
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, failure);
  if (token && !failure) {
    return (
      <AuthLayout title="Verify your email" subtitle="One click and your account is ready.">
        <Form method="post">
          <input type="hidden" name="intent" value="verify" />
          <input type="hidden" name="token" value={token} />
          <SubmitButton className="button primary block" pendingText="Verifying…">
            Verify my email
          </SubmitButton>
        </Form>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout
      title={failure?.formError ? "That link did not work" : "Get a new verification link"}
      subtitle="Enter the address you registered with and we will send a fresh link."
      footer={<Link to="/login">Back to log in</Link>}
    >
      <FormMessage error={failure?.formError} notice={result?.ok ? result.message : undefined} />
      <Form method="post" className="stack" noValidate ref={form}>
        <input type="hidden" name="intent" value="resend" />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          defaultValue={failure?.values?.email ?? email}
          errors={failure?.fieldErrors?.email}
        />
        <SubmitButton className="button primary block" pendingText="Sending…">
          Send verification link
        </SubmitButton>
      </Form>
    </AuthLayout>
  );
}
