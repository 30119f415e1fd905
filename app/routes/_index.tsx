import type { LoaderFunctionArgs } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { Brand } from "~/components/brand";
import { serverCaller } from "~/lib/trpc.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { session } = await serverCaller(request, context);
  return { signedIn: Boolean(session) };
}

export default function Landing() {
  const { signedIn } = useLoaderData<typeof loader>();
  return (
    <>
      <header className="site-header">
        <Brand />
        <nav className="button-row" aria-label="Account">
          {signedIn ? (
            <Link className="button primary" to="/user">
              Dashboard
            </Link>
          ) : (
            <>
              <Link className="button" to="/login">
                Log in
              </Link>
              <Link className="button primary" to="/register">
                Sign up
              </Link>
            </>
          )}
        </nav>
      </header>
      <main>
        <section className="hero">
          <h1>Serverless functions on your own machine</h1>
          <p className="lead">
            Upload Python or JavaScript, set memory and timeout, call it over HTTP. Warm pools of
            Docker containers and Nanos unikernels answer in about a millisecond, and every call
            shows whether it ran cold, prewarmed or warm.
          </p>
          <div className="button-row">
            <Link className="button primary" to={signedIn ? "/user" : "/register"}>
              {signedIn ? "Go to your dashboard" : "Create an account"}
            </Link>
            {signedIn ? null : (
              <Link className="button" to="/login">
                I have an account
              </Link>
            )}
          </div>
          <pre className="code-sample">
            <code>{`$ curl "http://localhost:3000/api/function/<user>/calc.calculator/docker?a=5&b=10"
{"status":0,"stdout":"15\\n-5\\n50\\n0.5\\n5\\n","start":"warm","durationMs":0.8}`}</code>
          </pre>
        </section>
        <section className="features" aria-label="Features">
          <div className="card">
            <h2>Warm by default</h2>
            <p>Prewarmed and specialized instances per function, so most calls skip the boot.</p>
          </div>
          <div className="card">
            <h2>Two engines</h2>
            <p>Docker containers for speed, Nanos unikernels for isolation, one HTTP contract.</p>
          </div>
          <div className="card">
            <h2>Honest numbers</h2>
            <p>Every call records its start kind and latency, and the benchmark publishes them.</p>
          </div>
        </section>
      </main>
    </>
  );
}
