import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { safeNext } from "~/lib/guards.server";

/**
 * Starts signing in with GitHub or Google: the login and register pages post
 * here (a POST, so the cross-origin check guards it like every form), and the
 * answer is the redirect to the provider.
 */
export async function action({ request, params, context }: ActionFunctionArgs) {
  const { oauth } = context.services;
  const provider = params.provider ?? "";
  if (!oauth.isEnabled(provider)) throw new Response("Not found", { status: 404 });
  const form = await request.formData().catch(() => new FormData());
  const next = form.get("next");
  return oauth.start(provider, request, safeNext(typeof next === "string" ? next : null));
}

// Starting a sign-in sets cookies, so a plain visit only goes to the login page.
export function loader({ params, context }: LoaderFunctionArgs) {
  if (!context.services.oauth.isEnabled(params.provider ?? "")) {
    throw new Response("Not found", { status: 404 });
  }
  return redirect("/login");
}
