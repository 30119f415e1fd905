-- CreateEnum
CREATE TYPE "Runtime" AS ENUM ('python', 'node');

-- CreateEnum
CREATE TYPE "FunctionStyle" AS ENUM ('script', 'handler');

-- CreateTable
CREATE TABLE "ApiKey" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "keyHash" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMP(3),

    CONSTRAINT "ApiKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Function" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "runtime" "Runtime" NOT NULL,
    "handler" TEXT NOT NULL,
    "style" "FunctionStyle" NOT NULL DEFAULT 'handler',
    "memoryMb" INTEGER NOT NULL DEFAULT 128,
    "timeoutSeconds" INTEGER NOT NULL DEFAULT 30,
    "maxConcurrency" INTEGER NOT NULL DEFAULT 4,
    "minWarm" INTEGER NOT NULL DEFAULT 0,
    "isPublic" BOOLEAN NOT NULL DEFAULT false,
    "networkEnabled" BOOLEAN NOT NULL DEFAULT false,
    "env" JSONB NOT NULL DEFAULT '{}',
    "activeVersionId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Function_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FunctionVersion" (
    "id" TEXT NOT NULL,
    "functionId" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "sha256" TEXT NOT NULL,
    "sizeBytes" INTEGER NOT NULL,
    "s3Key" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FunctionVersion_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_prefix_key" ON "ApiKey"("prefix");

-- CreateIndex
CREATE INDEX "ApiKey_userId_idx" ON "ApiKey"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Function_activeVersionId_key" ON "Function"("activeVersionId");

-- CreateIndex
CREATE UNIQUE INDEX "Function_userId_name_key" ON "Function"("userId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Function_userId_handler_key" ON "Function"("userId", "handler");

-- CreateIndex
CREATE INDEX "FunctionVersion_functionId_sha256_idx" ON "FunctionVersion"("functionId", "sha256");

-- CreateIndex
CREATE UNIQUE INDEX "FunctionVersion_functionId_number_key" ON "FunctionVersion"("functionId", "number");

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Function" ADD CONSTRAINT "Function_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Function" ADD CONSTRAINT "Function_activeVersionId_fkey" FOREIGN KEY ("activeVersionId") REFERENCES "FunctionVersion"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FunctionVersion" ADD CONSTRAINT "FunctionVersion_functionId_fkey" FOREIGN KEY ("functionId") REFERENCES "Function"("id") ON DELETE CASCADE ON UPDATE CASCADE;

