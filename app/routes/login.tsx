import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { useRef } from "react";
import { AuthLayout } from "~/components/auth-layout";
import { Field, FormMessage, SubmitButton, useFocusFirstInvalid } from "~/components/form";
import { OAuthButtons } from "~/components/oauth-buttons";
import { formAction, formValues } from "~/lib/form-errors.server";
import { requireAnonymous, safeNext } from "~/lib/guards.server";
import { serverCaller } from "~/lib/trpc.server";

export const meta: MetaFunction = () => [{ title: "Log in · Cloudless" }];

const NOTICES: Record<string, string> = {
  verified: "Your email is verified. Log in to continue.",
  reset: "Your password was changed and every session was signed out. Log in with the new one.",
  "logged-out": "You are logged out.",
};

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { caller } = await requireAnonymous(request, context);
  const url = new URL(request.url);
  return {
    providers: await caller.auth.providers(),
    notice: NOTICES[url.searchParams.get("notice") ?? ""],
    // Only a reason we signed ourselves is shown (a crafted link cannot add text).
    oauthError: context.services.oauth.readLoginError(url),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const form = await request.formData();
  const values = formValues(form, ["email", "password", "next"]);
  const { caller, headers } = await serverCaller(request, context);
  return formAction(
    async () => {
      await caller.auth.login({ email: values.email, password: values.password });
      throw redirect(safeNext(values.next), { headers });
    },
    { email: values.email },
  );
}

export default function Login() {
  const { providers, notice, oauthError } = useLoaderData<typeof loader>();
  const failure = useActionData<typeof action>();
  const [params] = useSearchParams();
  const next = params.get("next") ?? undefined;
  const unverified = failure?.formError?.startsWith("Verify your email");
  const form = useRef<HTMLFormElement>(null);
  useFocusFirstInvalid(form, failure);
  return (
    <AuthLayout
      title="Log in"
      subtitle="Welcome back."
      footer={
        <>
          New to Cloudless? <Link to="/register">Create an account</Link>
        </>
      }
    >
      <FormMessage error={failure?.formError ?? oauthError} notice={notice}>
        {unverified ? (
          <p className="alert-action">
            <Link to={`/verify?email=${encodeURIComponent(failure?.values?.email ?? "")}`}>
              Send me a new verification link
            </Link>
          </p>
        ) : null}
      </FormMessage>
      <Form method="post" className="stack" noValidate ref={form}>
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="email"
          required
          defaultValue={failure?.values?.email}
          errors={failure?.fieldErrors?.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          errors={failure?.fieldErrors?.password}
        />
        <p className="form-links">
          <Link to="/forgot-password">Forgot your password?</Link>
        </p>
        <SubmitButton className="button primary block" pendingText="Logging in…">
          Log in
        </SubmitButton>
      </Form>
      <OAuthButtons providers={providers} next={next} />
    </AuthLayout>
  );
}
