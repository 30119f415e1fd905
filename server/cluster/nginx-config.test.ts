import { describe, expect, it } from "vitest";
import { renderNginxConfig } from "./nginx-config";

const options = {
  nodes: ["127.0.0.1:3101", "127.0.0.1:3102"],
  listen: "127.0.0.1:8080",
  runDir: "/run/cloudless/",
  maxBodyBytes: 4 * 1024 * 1024,
};

describe("renderNginxConfig", () => {
  const conf = renderNginxConfig(options);

  it("hashes invocations on their path and round-robins the rest, over every node", () => {
    const invoke = conf.slice(
      conf.indexOf("upstream cloudless_invoke"),
      conf.indexOf("upstream cloudless_app"),
    );
    expect(invoke).toContain("hash $uri consistent;");
    const app = conf.slice(conf.indexOf("upstream cloudless_app"), conf.indexOf("server {"));
    expect(app).not.toContain("hash");
    for (const part of [invoke, app]) {
      expect(part).toContain("server 127.0.0.1:3101 max_fails=1 fail_timeout=5s;");
      expect(part).toContain("server 127.0.0.1:3102 max_fails=1 fail_timeout=5s;");
    }
    expect(conf).toMatch(/location \/api\/function\/ \{\s+proxy_pass http:\/\/cloudless_invoke;/);
    expect(conf).toMatch(/location \/ \{\s+proxy_pass http:\/\/cloudless_app;/);
  });

  it("never resends a POST that was sent (no non_idempotent), keeps connections alive, forwards the client", () => {
    expect(conf).not.toContain("non_idempotent");
    expect(conf).toContain('proxy_set_header Connection "";');
    expect(conf).toContain("proxy_http_version 1.1;");
    expect(conf).toContain("X-Forwarded-For $proxy_add_x_forwarded_for");
    expect(conf).toContain("X-Forwarded-Proto $scheme");
  });

  it("keeps its files in the run folder and lets the node answer oversized bodies", () => {
    expect(conf).toContain("pid /run/cloudless/nginx.pid;");
    expect(conf).toContain("client_body_temp_path /run/cloudless/client-body;");
    expect(conf).toContain(`client_max_body_size ${4096 + 1024}k;`);
  });

  it("refuses what is not host:port, and an empty node list", () => {
    expect(() => renderNginxConfig({ ...options, nodes: [] })).toThrow(/At least one node/);
    expect(() => renderNginxConfig({ ...options, nodes: ["a:1; include /etc/passwd"] })).toThrow(
      /Not a host:port/,
    );
    expect(() => renderNginxConfig({ ...options, nodes: ["[::1]:3000"] })).not.toThrow();
  });
});
