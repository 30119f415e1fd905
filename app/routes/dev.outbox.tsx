import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Brand } from "~/components/brand";
import { DateTime } from "~/components/date-time";

export const meta: MetaFunction = () => [{ title: "Outbox · Cloudless (development)" }];

/**
 * Development only: the mail that would have been sent, when no email service
 * is configured. In production, or with Resend configured, it does not exist;
 * and only this machine may read it: it holds every account's verification
 * and password-reset links, and `npm start` listens on every interface.
 */
export async function loader({ context }: LoaderFunctionArgs) {
  const { services } = context;
  if (services.config.isProduction || services.mailer.kind !== "outbox" || !context.fromThisHost) {
    throw new Response("Not found", { status: 404 });
  }
  const messages = await services.db.outboxEmail.findMany({
    orderBy: { createdAt: "desc" },
    take: 50,
    select: { id: true, to: true, subject: true, text: true, createdAt: true },
  });
  return { messages };
}

/** Links in the text become clickable, so a new user can verify in one click. */
function Linkified({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/\S+)/g);
  return (
    <pre>
      {parts.map((part, i) =>
        /^https?:\/\//.test(part) ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: parts of one fixed string
          <a key={i} href={part}>
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </pre>
  );
}

export default function Outbox() {
  const { messages } = useLoaderData<typeof loader>();
  return (
    <main className="content page-narrow">
      <div className="page-header">
        <Brand />
        <span className="badge">Development</span>
      </div>
      <h1>Outbox</h1>
      <p className="muted">
        Email is not configured (set RESEND_API_KEY to send it), so messages are kept here. Newest
        first.
      </p>
      {messages.length === 0 ? (
        <div className="card empty">
          <p>No messages yet. Register an account and its verification email appears here.</p>
        </div>
      ) : (
        messages.map((m) => (
          <article key={m.id} className="card outbox-message">
            <h2>{m.subject}</h2>
            <p className="muted meta">
              To {m.to} · <DateTime value={m.createdAt} />
            </p>
            <Linkified text={m.text} />
          </article>
        ))
      )}
    </main>
  );
}
