import type { LinksFunction, MetaFunction } from "@remix-run/node";
import {
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
} from "@remix-run/react";
import { useEffect } from "react";
import { AuthLayout } from "~/components/auth-layout";
import stylesheet from "~/styles/app.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [
  { title: "Cloudless" },
  { name: "description", content: "Self-hosted serverless functions, warm and honest." },
];

export function Layout({ children }: { children: React.ReactNode }) {
  // Marks the moment event handlers are attached (error pages included), so
  // browser tests can tell a client-side submit from a plain HTML form post.
  useEffect(() => {
    document.documentElement.dataset.hydrated = "true";
  }, []);
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error)
    ? typeof error.data === "string"
      ? error.data
      : error.statusText
    : "Something went wrong on our side. Try again in a moment.";
  // The signed-out card, so an error page still looks like Cloudless and leads home.
  return (
    <AuthLayout
      title={status === 404 ? "Page not found" : `Error ${status}`}
      subtitle={status === 404 ? "There is nothing at this address." : message}
    >
      <Link className="button primary block" to="/">
        Back to Cloudless
      </Link>
    </AuthLayout>
  );
}
