-- CreateEnum
CREATE TYPE "BootMode" AS ENUM ('boot', 'restore');

-- AlterTable
ALTER TABLE "Invocation" ADD COLUMN     "bootMode" "BootMode";

