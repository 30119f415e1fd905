/**
 * Names of the labels every instance carries (container labels; fields of
 * the pid/state file for VMs), so a new manager process can find and remove
 * what an earlier one left behind.
 */
export const LABELS = {
  /** Marks anything Cloudless made. */
  managed: "dev.cloudless.managed",
  /** The manager process that owns it (host name + data folder), so two installs on one engine keep apart. */
  owner: "dev.cloudless.owner",
  instanceId: "dev.cloudless.instance",
  runtime: "dev.cloudless.runtime",
  /** Set once specialized. */
  functionId: "dev.cloudless.function",
  userId: "dev.cloudless.user",
  /** The content hash a runtime image was built from. */
  imageHash: "dev.cloudless.image-hash",
} as const;
