import { apiKeysRouter } from "./routers/api-keys";
import { authRouter } from "./routers/auth";
import { functionsRouter } from "./routers/functions";
import { createCallerFactory, router } from "./trpc";

export const appRouter = router({
  auth: authRouter,
  functions: functionsRouter,
  apiKeys: apiKeysRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
