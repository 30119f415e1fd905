import { z } from "zod";
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "./password-limits";

/**
 * Validation shared by the browser forms and the tRPC procedures: the form
 * shows these messages, and the server enforces the same rules.
 */
export const emailSchema = z
  .string({ error: "Enter your email address" })
  .trim()
  .min(1, "Enter your email address")
  .max(254, "Email addresses are at most 254 characters")
  .pipe(z.email("Enter a valid email address"))
  .transform((e) => e.toLowerCase());

export const passwordSchema = z
  .string({ error: "Enter a password" })
  .min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH, `Use at most ${MAX_PASSWORD_LENGTH} characters`);

export const nameSchema = z
  .string({ error: "Enter your name" })
  .trim()
  .min(1, "Enter your name")
  .max(100, "Names are at most 100 characters")
  // All of Unicode's control characters (C0, DEL and C1, e.g. U+0085 NEL), not only ASCII's.
  .refine((n) => !/\p{Cc}/u.test(n), "Names cannot contain control characters");

export const registerSchema = z.object({
  name: nameSchema,
  email: emailSchema,
  password: passwordSchema,
});

export const loginSchema = z.object({
  email: emailSchema,
  // Any length up to the cap: the rules may have been different when it was set.
  password: z
    .string({ error: "Enter your password" })
    .min(1, "Enter your password")
    .max(MAX_PASSWORD_LENGTH, "Wrong email or password"),
});

export const emailOnlySchema = z.object({ email: emailSchema });

export const tokenSchema = z
  .string({ error: "This link is incomplete" })
  .min(20, "This link is not valid")
  .max(200, "This link is not valid")
  .regex(/^[A-Za-z0-9_-]+$/, "This link is not valid");

export const resetPasswordSchema = z.object({ token: tokenSchema, password: passwordSchema });

export type FieldErrors = Partial<Record<string, string[]>>;
