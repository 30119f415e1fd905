import { z } from "zod";
import { checkCron } from "./cron";

/** Schedule input, shared by the procedures, the SDK, the CLI and the function page. */
export const scheduleInputSchema = z
  .object({
    functionId: z.string().min(1).max(64),
    cron: z.string().trim().min(1, "Enter a cron expression").max(200),
    timezone: z.string().trim().min(1).max(64).default("UTC"),
    /** The event each run receives (a handler's `event`), JSON. */
    event: z.json().default({}),
    engine: z.enum(["docker", "nanos"]).default("docker"),
    enabled: z.boolean().default(true),
  })
  .superRefine((input, ctx) => {
    const check = checkCron(input.cron, input.timezone);
    if (!check.ok) {
      ctx.addIssue({
        code: "custom",
        path: [check.error.startsWith("Unknown timezone") ? "timezone" : "cron"],
        message: check.error,
      });
    }
  });

export type ScheduleInput = z.input<typeof scheduleInputSchema>;
