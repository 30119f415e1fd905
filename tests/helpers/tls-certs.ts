import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A folder laid out as DOCKER_CERT_PATH expects: the CA, and a certificate with its key. */
export interface CertFolder {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export interface TestPki {
  /** The server side (dockerd --tlscacert/--tlscert/--tlskey). */
  server: CertFolder;
  /** A client signed by the same CA (a good DOCKER_CERT_PATH). */
  client: CertFolder;
}

/**
 * A throwaway certificate authority made with openssl: a server certificate
 * for the given IP (as a subjectAltName, which TLS clients check) and a client
 * certificate, both signed by it. EC P-256 keys: quick to make.
 */
export async function makeTestPki(dir: string, ip = "127.0.0.1"): Promise<TestPki> {
  await fs.mkdir(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ecKey,
    "-keyout",
    file("ca-key.pem"),
    "-out",
    file("ca.pem"),
    "-days",
    "2",
    "-subj",
    `/CN=cloudless test CA ${path.basename(dir)}`,
  ]);
  const sign = async (name: string, subject: string, extensions: string) => {
    await fs.writeFile(file(`${name}.ext`), extensions);
    await run("openssl", [
      "req",
      ...ecKey,
      "-keyout",
      file(`${name}-key.pem`),
      "-out",
      file(`${name}.csr`),
      "-subj",
      subject,
    ]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.pem"),
      "-CAkey",
      file("ca-key.pem"),
      "-CAcreateserial",
      "-out",
      file(`${name}-cert.pem`),
      "-days",
      "2",
      "-extfile",
      file(`${name}.ext`),
    ]);
  };
  await sign("server", `/CN=${ip}`, `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  await sign("client", "/CN=cloudless-node", "extendedKeyUsage=clientAuth\n");
  // The client side as DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem.
  const clientDir = file("client");
  await fs.mkdir(clientDir, { recursive: true });
  await fs.copyFile(file("ca.pem"), path.join(clientDir, "ca.pem"));
  await fs.copyFile(file("client-cert.pem"), path.join(clientDir, "cert.pem"));
  await fs.copyFile(file("client-key.pem"), path.join(clientDir, "key.pem"));
  return {
    server: {
      dir,
      ca: file("ca.pem"),
      cert: file("server-cert.pem"),
      key: file("server-key.pem"),
    },
    client: {
      dir: clientDir,
      ca: path.join(clientDir, "ca.pem"),
      cert: path.join(clientDir, "cert.pem"),
      key: path.join(clientDir, "key.pem"),
    },
  };
}
