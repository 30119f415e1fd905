import type { ReactNode } from "react";
import { Brand } from "./brand";

/** The centred card shared by the signed-out pages. */
export function AuthLayout({
  title,
  subtitle,
  children,
  footer,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
}) {
  return (
    <main className="auth-page">
      <div className="auth-brand">
        <Brand />
      </div>
      <section className="card" aria-labelledby="page-title">
        <h1 id="page-title">{title}</h1>
        {subtitle ? <p className="muted">{subtitle}</p> : null}
        {children}
      </section>
      {footer ? <p className="auth-footer">{footer}</p> : null}
    </main>
  );
}
