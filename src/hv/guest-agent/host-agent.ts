// Test helper: the real agent (scripts/guest/agentd.c) compiled for the host and serving a Unix socket the way
// QEMU's chardev does (`listen:`), so the host side and the agent are tested together without booting a guest.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SOURCE = join(import.meta.dir, "../../../scripts/guest/agentd.c");

export interface HostAgent {
  socketPath: string;
  dir: string;
  stop(): void;
}

export async function startHostAgent(): Promise<HostAgent> {
  const dir = mkdtempSync(join(tmpdir(), "sv-agentd-"));
  const binary = join(dir, "agentd");
  const cc = Bun.spawnSync(["gcc", "-O2", "-Wall", "-Werror", "-o", binary, SOURCE]);
  if (cc.exitCode !== 0) throw new Error(`cannot compile the agent: ${cc.stderr.toString()}`);
  const socketPath = join(dir, "agent.sock");
  const agent = Bun.spawn([binary, `listen:${socketPath}`], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SNAPVISOR_AGENT_WORK_DIR: join(dir, "work") },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 100 && !(await Bun.file(socketPath).exists()); i++) await Bun.sleep(20);
  return {
    socketPath,
    dir,
    stop: () => {
      agent.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
