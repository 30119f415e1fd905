import { Form } from "@remix-run/react";

/** Buttons only for the providers that are configured. */
export function OAuthButtons({
  providers,
  next,
}: {
  providers: { github: boolean; google: boolean };
  next?: string;
}) {
  if (!providers.github && !providers.google) return null;
  return (
    <>
      <div className="divider">or</div>
      <div className="oauth-buttons">
        {providers.github ? (
          <Form method="post" action="/auth/github" reloadDocument>
            {next ? <input type="hidden" name="next" value={next} /> : null}
            <button type="submit" className="button block">
              Continue with GitHub
            </button>
          </Form>
        ) : null}
        {providers.google ? (
          <Form method="post" action="/auth/google" reloadDocument>
            {next ? <input type="hidden" name="next" value={next} /> : null}
            <button type="submit" className="button block">
              Continue with Google
            </button>
          </Form>
        ) : null}
      </div>
    </>
  );
}
