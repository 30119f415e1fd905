import type { LoaderFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { safeNext } from "~/lib/guards.server";

/**
 * Where GitHub or Google sends the browser back. Success lands on the
 * remembered page (or /user) signed in; any failure goes to the login page,
 * which shows the reason.
 */
export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { oauth } = context.services;
  const provider = params.provider ?? "";
  if (!oauth.isEnabled(provider)) throw new Response("Not found", { status: 404 });
  const result = await oauth.finish(provider, request, context.clientIp);
  if (result.ok) return redirect(safeNext(result.next), { headers: result.headers });
  return redirect(oauth.loginErrorUrl(result.message), { headers: result.headers });
}
