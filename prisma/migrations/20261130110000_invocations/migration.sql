-- CreateEnum
CREATE TYPE "EngineKind" AS ENUM ('docker', 'nanos');

-- CreateEnum
CREATE TYPE "StartKind" AS ENUM ('cold', 'prewarm', 'warm');

-- CreateTable
CREATE TABLE "Invocation" (
    "id" TEXT NOT NULL,
    "functionId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "versionNumber" INTEGER NOT NULL,
    "engine" "EngineKind" NOT NULL,
    "start" "StartKind" NOT NULL,
    "status" INTEGER NOT NULL,
    "timeout" BOOLEAN NOT NULL DEFAULT false,
    "error" TEXT,
    "durationMs" DOUBLE PRECISION NOT NULL,
    "queueMs" DOUBLE PRECISION NOT NULL,
    "startMs" DOUBLE PRECISION NOT NULL,
    "execMs" DOUBLE PRECISION NOT NULL,
    "totalMs" DOUBLE PRECISION NOT NULL,
    "stdout" TEXT NOT NULL DEFAULT '',
    "stderr" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Invocation_functionId_createdAt_idx" ON "Invocation"("functionId", "createdAt");

-- CreateIndex
CREATE INDEX "Invocation_userId_createdAt_idx" ON "Invocation"("userId", "createdAt");

-- AddForeignKey
ALTER TABLE "Invocation" ADD CONSTRAINT "Invocation_functionId_fkey" FOREIGN KEY ("functionId") REFERENCES "Function"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Invocation" ADD CONSTRAINT "Invocation_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

