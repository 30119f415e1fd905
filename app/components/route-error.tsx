import { isRouteErrorResponse, Link, useLocation, useRouteError } from "@remix-run/react";

/**
 * A page's error state inside the signed-in shell: the navigation stays, the
 * page says what failed and offers a way on. Each route's ErrorBoundary is this.
 */
export function RouteError({
  title,
  what,
  back = { to: "/user", label: "Dashboard" },
}: {
  /** "Dashboard", "Latency": the page that could not be shown. */
  title: string;
  /** "your calls": what could not be loaded. */
  what: string;
  back?: { to: string; label: string };
}) {
  const error = useRouteError();
  const location = useLocation();
  const response = isRouteErrorResponse(error) ? error : null;
  const message =
    response && typeof response.data === "string" && response.status < 500
      ? response.data
      : `${capitalize(what)} could not be loaded. Try again in a moment.`;
  return (
    <>
      <div className="page-header">
        <div>
          <h1>{response?.status === 404 ? `${title}: not found` : title}</h1>
          <p className="muted">Something went wrong.</p>
        </div>
      </div>
      <div className="alert alert-error" role="alert">
        <div className="alert-body">
          <p>{message}</p>
        </div>
      </div>
      <div className="button-row">
        {/* A plain reload: the loader runs again from scratch. */}
        <a className="button primary" href={`${location.pathname}${location.search}`}>
          Try again
        </a>
        <Link className="button" to={back.to}>
          {back.label}
        </Link>
      </div>
    </>
  );
}

function capitalize(text: string) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
