import type { ActionFunctionArgs } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { serverCaller } from "~/lib/trpc.server";

export async function action({ request, context }: ActionFunctionArgs) {
  const { caller, headers } = await serverCaller(request, context);
  await caller.auth.logout();
  return redirect("/login?notice=logged-out", { headers });
}

// Logging out changes state, so it is a POST only; a visit just goes home.
export function loader() {
  return redirect("/");
}
