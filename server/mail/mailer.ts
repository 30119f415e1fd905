import { Resend } from "resend";
import type { Database } from "../db/client";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * The email service did not take the message (outage, quota, bad key). Callers
 * answer "try again later" without the provider's reason, which is logged.
 */
export class MailDeliveryError extends Error {}

export interface Mailer {
  readonly kind: "resend" | "outbox";
  send(message: MailMessage): Promise<void>;
}

/** Sends through Resend's API (RESEND_BASE_URL points the SDK at another server, e.g. in tests). */
export class ResendMailer implements Mailer {
  readonly kind = "resend";
  private readonly client: Resend;

  constructor(
    apiKey: string,
    private readonly from: string,
    baseUrl?: string,
  ) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl } : undefined);
  }

  async send(message: MailMessage): Promise<void> {
    const { error } = await this.client.emails.send({ from: this.from, ...message });
    // The SDK does not throw: network failures come back as `error` too.
    if (error) {
      throw new MailDeliveryError(
        `Resend refused the message (${error.statusCode ?? "no status"} ${error.name}): ${error.message}`,
      );
    }
  }
}

/**
 * The default without RESEND_API_KEY: messages are stored and logged, and
 * shown at /dev/outbox, so a new install can verify accounts with no email service.
 */
export class OutboxMailer implements Mailer {
  readonly kind = "outbox";

  constructor(
    private readonly db: Database,
    private readonly log: (line: string) => void,
  ) {}

  async send(message: MailMessage): Promise<void> {
    await this.db.outboxEmail.create({ data: message });
    this.log(`[outbox] to ${message.to}: ${message.subject}\n${message.text}`);
  }
}
