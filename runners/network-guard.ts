import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * What a function with the network on may reach: the outside world, but none
 * of the host's own services (anything listening on any host address,
 * including other instances' forwarded ports) and not link-local
 * 169.254.0.0/16 (cloud metadata endpoints). Both engines get the same rule
 * from the host's firewall (iptables), because neither can enforce it alone:
 *
 * - Nanos: qemu's user networking turns the guest's connections into the qemu
 *   process's own sockets, so 10.0.2.2 is the host's loopback. Network-enabled
 *   qemu runs with a dedicated group id (still root otherwise, so its files
 *   work as before) and OUTPUT rules match that group.
 * - Docker: network-enabled containers join a Cloudless bridge network without
 *   inter-container traffic; INPUT rules refuse new connections from that
 *   bridge to any host address, DOCKER-USER refuses link-local.
 *
 * Replies to connections the host opened (the agent's forwarded port) are let
 * through. The rules are machine-wide and idempotent: every installation on a
 * machine installs the same chains, so nothing is left to clean up.
 *
 * Fail closed: where the rules cannot be installed (not root, no iptables, a
 * remote Docker engine), network-enabled functions are refused with the
 * reason instead of running unfiltered.
 */
export type NetworkGuardStatus = { ok: true } | { ok: false; reason: string };

/** The group id network-enabled qemu processes run with; only the firewall rules use it. */
export const VM_NETWORK_GID = 4_200_042;

/** The Docker network of network-enabled containers, and its Linux bridge. */
export const CONTAINER_NETWORK = { name: "cloudless-isolated", bridge: "cl-isolated" };

const VM_CHAIN = "CLOUDLESS-VM-NET";
const CONTAINER_CHAIN = "CLOUDLESS-CT-NET";
const LINK_LOCAL = "169.254.0.0/16";

/** Rules for network-enabled Nanos VMs (OUTPUT, by qemu's group id). */
export function guardVmNetwork(command: string): Promise<NetworkGuardStatus> {
  return install(
    command,
    VM_CHAIN,
    [
      ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
      ["-m", "addrtype", "--dst-type", "LOCAL", ...reject()],
      ["-d", LINK_LOCAL, ...reject()],
    ],
    [["OUTPUT", "-m", "owner", "--gid-owner", String(VM_NETWORK_GID), "-j", VM_CHAIN]],
  );
}

/** Rules for network-enabled containers (INPUT and DOCKER-USER, by their bridge). */
export function guardContainerNetwork(command: string): Promise<NetworkGuardStatus> {
  const bridge = CONTAINER_NETWORK.bridge;
  return install(
    command,
    CONTAINER_CHAIN,
    [
      ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
      // Arriving in INPUT means addressed to the host itself: refuse it all.
      [...reject()],
    ],
    [
      ["INPUT", "-i", bridge, "-j", CONTAINER_CHAIN],
      ["DOCKER-USER", "-i", bridge, "-d", LINK_LOCAL, ...reject()],
    ],
  );
}

function reject() {
  return ["-j", "REJECT", "--reject-with", "icmp-port-unreachable"];
}

async function install(
  command: string,
  chain: string,
  rules: string[][],
  jumps: string[][],
): Promise<NetworkGuardStatus> {
  if (process.getuid?.() !== 0) {
    return { ok: false, reason: "network isolation needs root to install firewall rules" };
  }
  const iptables = (...args: string[]) => run(command, ["-w", "5", ...args], { timeout: 15_000 });
  const ensure = async (how: "-A" | "-I", parent: string, rule: string[]) => {
    const present = await iptables("-C", parent, ...rule).then(
      () => true,
      () => false,
    );
    if (!present)
      await (how === "-A" ? iptables("-A", parent, ...rule) : iptables("-I", parent, "1", ...rule));
  };
  try {
    // Never flushed: another installation on this machine may rely on the
    // chain this very moment. Each rule is added only when missing, in order.
    await iptables("-N", chain).catch((error: Error) => {
      if (!/exists/i.test(error.message)) throw error;
    });
    for (const rule of rules) await ensure("-A", chain, rule);
    for (const [parent, ...rule] of jumps) await ensure("-I", parent!, rule);
    return { ok: true };
  } catch (error) {
    const message =
      (error as Error & { stderr?: string }).stderr?.trim() || (error as Error).message;
    return {
      ok: false,
      reason: `could not install the network isolation rules (iptables: ${message})`,
    };
  }
}

/** The sentence a refused network-enabled call carries. */
export function networkRefusal(reason: string) {
  return `Functions with the network enabled cannot run here: ${reason}. Functions without the network are not affected.`;
}
