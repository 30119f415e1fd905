-- CreateTable
CREATE TABLE "InvocationRollup" (
    "userId" TEXT NOT NULL,
    "functionId" TEXT NOT NULL,
    "engine" "EngineKind" NOT NULL,
    "start" "StartKind" NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "bucket" INTEGER NOT NULL,
    "calls" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "sumMs" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "InvocationRollup_pkey" PRIMARY KEY ("userId","functionId","engine","start","minute","bucket")
);

-- CreateIndex
CREATE INDEX "InvocationRollup_userId_minute_idx" ON "InvocationRollup"("userId", "minute");

-- CreateIndex
CREATE INDEX "InvocationRollup_functionId_minute_idx" ON "InvocationRollup"("functionId", "minute");

-- AddForeignKey
ALTER TABLE "InvocationRollup" ADD CONSTRAINT "InvocationRollup_functionId_fkey" FOREIGN KEY ("functionId") REFERENCES "Function"("id") ON DELETE CASCADE ON UPDATE CASCADE;

