import { apiKeysRouter } from "./routers/api-keys";
import { authRouter } from "./routers/auth";
import { functionsRouter } from "./routers/functions";
import { invocationsRouter } from "./routers/invocations";
import { nodesRouter } from "./routers/nodes";
import { schedulesRouter } from "./routers/schedules";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  auth: authRouter,
  functions: functionsRouter,
  apiKeys: apiKeysRouter,
  invocations: invocationsRouter,
  schedules: schedulesRouter,
  nodes: nodesRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
