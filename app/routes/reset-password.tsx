import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { TRPCError } from "@trpc/server";
import { useRef } from "react";
import { AuthLayout } from "~/components/auth-layout";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import { formAction, formValues } from "~/lib/form-errors.server";
import { serverCaller } from "~/lib/trpc.server";

export const meta: MetaFunction = () => [{ title: "Choose a new password · Cloudless" }];

export async function loader({ request, context }: LoaderFunctionArgs) {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  const { caller } = await serverCaller(request, context);
  try {
    await caller.auth.checkResetToken({ token });
    return { token, linkError: null };
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    const message =
      error.code === "BAD_REQUEST" && !error.message.includes("[")
        ? error.message
        : "This link is not valid.";
    return { token: null, linkError: message };
  }
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = formValues(form, ["token", "password"]);
  const { caller, headers } = await serverCaller(request, context);
  return formAction(async () => {
    await caller.auth.resetPassword(values);
    throw redirect("/login?notice=reset", { headers });
  });
}

export default function ResetPassword() {
  const { token, linkError } = useLoaderData<typeof loader>();
  const failure = useActionData<typeof action>();
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, failure);
  if (!token) {
    return (
      <AuthLayout title="That link did not work" footer={<Link to="/login">Back to log in</Link>}>
        <FormMessage error={linkError ?? undefined} />
        <p className="muted">Reset links work once and expire after an hour.</p>
        <Link className="button primary block" to="/forgot-password">
          Ask for a new link
        </Link>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout
      title="Choose a new password"
      subtitle="Every device signed in to your account will be signed out."
    >
      <FormMessage error={failure?.formError} />
      <Form method="post" className="stack" noValidate ref={form}>
        <input type="hidden" name="token" value={token} />
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={8}
          maxLength={128}
          hint="At least 8 characters."
          errors={failure?.fieldErrors?.password}
        />
        <SubmitButton className="button primary block" pendingText="Saving…">
          Set new password
        </SubmitButton>
      </Form>
    </AuthLayout>
  );
}
