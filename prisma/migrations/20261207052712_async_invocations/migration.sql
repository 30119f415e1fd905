-- CreateEnum
CREATE TYPE "AsyncState" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'dead');

-- AlterTable
ALTER TABLE "Function" ADD COLUMN     "asyncRetries" INTEGER NOT NULL DEFAULT 2,
ADD COLUMN     "retryOnError" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "Invocation" ADD COLUMN     "async" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "asyncId" TEXT,
ADD COLUMN     "queueWaitMs" DOUBLE PRECISION;

-- CreateTable
CREATE TABLE "AsyncInvocation" (
    "id" TEXT NOT NULL,
    "functionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "engine" "EngineKind" NOT NULL,
    "event" JSONB NOT NULL,
    "args" JSONB NOT NULL DEFAULT '[]',
    "state" "AsyncState" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "maxAttempts" INTEGER NOT NULL,
    "idempotencyKey" TEXT,
    "bodyHash" TEXT,
    "scheduleId" TEXT,
    "tickAt" TIMESTAMP(3),
    "queuedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "lastInvocationId" TEXT,
    "versionNumber" INTEGER,
    "status" INTEGER,
    "result" JSONB,
    "stdout" TEXT,
    "stderr" TEXT,
    "error" TEXT,
    "timeout" BOOLEAN,
    "durationMs" DOUBLE PRECISION,
    "start" "StartKind",
    "timings" JSONB,

    CONSTRAINT "AsyncInvocation_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Schedule" (
    "id" TEXT NOT NULL,
    "functionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "cron" TEXT NOT NULL,
    "timezone" TEXT NOT NULL DEFAULT 'UTC',
    "event" JSONB NOT NULL DEFAULT '{}',
    "engine" "EngineKind" NOT NULL DEFAULT 'docker',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Schedule_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "AsyncInvocation_userId_state_idx" ON "AsyncInvocation"("userId", "state");

-- CreateIndex
CREATE INDEX "AsyncInvocation_functionId_queuedAt_idx" ON "AsyncInvocation"("functionId", "queuedAt");

-- CreateIndex
CREATE UNIQUE INDEX "AsyncInvocation_userId_idempotencyKey_key" ON "AsyncInvocation"("userId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "AsyncInvocation_scheduleId_tickAt_key" ON "AsyncInvocation"("scheduleId", "tickAt");

-- CreateIndex
CREATE INDEX "Schedule_functionId_idx" ON "Schedule"("functionId");

-- CreateIndex
CREATE INDEX "Schedule_enabled_idx" ON "Schedule"("enabled");

-- AddForeignKey
ALTER TABLE "AsyncInvocation" ADD CONSTRAINT "AsyncInvocation_functionId_fkey" FOREIGN KEY ("functionId") REFERENCES "Function"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AsyncInvocation" ADD CONSTRAINT "AsyncInvocation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AsyncInvocation" ADD CONSTRAINT "AsyncInvocation_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "Schedule"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Schedule" ADD CONSTRAINT "Schedule_functionId_fkey" FOREIGN KEY ("functionId") REFERENCES "Function"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Schedule" ADD CONSTRAINT "Schedule_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

