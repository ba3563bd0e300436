// DROP_TIME_WAIT against the real agent compiled for the host (host-agent.ts), on TIME_WAITs made here over a
// loopback address of their own (127.77.0.1), so no other socket of the host is touched.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { encodeFrame, FrameReader, Reply, Request } from "./frames.ts";
import { AgentUsageError, dropTimeWaits, PROTOCOL_VERSION } from "./index.ts";
import { startHostAgent, type HostAgent } from "./host-agent.ts";

const PEER = "127.77.0.1";
const CONNECTIONS = 5;
let agent: HostAgent;
beforeAll(async () => (agent = await startHostAgent()));
afterAll(() => agent.stop());

/** Opens `n` connections to a server on PEER and closes each from the client first: the client side keeps a TIME_WAIT. */
async function timeWaitsTo(n: number): Promise<void> {
  const server = Bun.listen({ hostname: PEER, port: 0, socket: { data() {}, end: (s) => void s.end() } });
  try {
    for (let i = 0; i < n; i++) {
      const closed = Promise.withResolvers<void>();
      const client = await Bun.connect({ hostname: PEER, port: server.port, socket: { data() {}, close: () => closed.resolve() } });
      client.end();
      await closed.promise;
    }
  } finally {
    server.stop(true);
  }
}

test("ends the TIME_WAITs from the peer, at most `max` per call", async () => {
  await timeWaitsTo(CONNECTIONS);
  const first = await dropTimeWaits(agent.socketPath, PEER, { max: 2, timeoutMs: 5_000 });
  expect(first).toEqual({ found: CONNECTIONS, destroyed: 2, errors: 0, error: "" });
  const rest = await dropTimeWaits(agent.socketPath, PEER, { max: 100, timeoutMs: 5_000 });
  expect(rest).toEqual({ found: CONNECTIONS - 2, destroyed: CONNECTIONS - 2, errors: 0, error: "" });
  expect(await dropTimeWaits(agent.socketPath, PEER, { max: 100, timeoutMs: 5_000 })).toEqual({ found: 0, destroyed: 0, errors: 0, error: "" });
});

test("a peer that is no IPv4 address is refused before anything is sent", async () => {
  await expect(dropTimeWaits(agent.socketPath, "::1", { max: 1, timeoutMs: 5_000 })).rejects.toBeInstanceOf(AgentUsageError);
  await expect(dropTimeWaits(agent.socketPath, "10.0.2.256", { max: 1, timeoutMs: 5_000 })).rejects.toBeInstanceOf(AgentUsageError);
});

test("an agent from before DROP_TIME_WAIT (it answers: unknown request type) gives null, for the caller's fallback", async () => {
  // Speaks protocol 2 as an older agent does: the handshake, and "unknown request type" to anything else.
  const socketPath = join(agent.dir, "old-agent.sock");
  const old = Bun.listen<{ reader: FrameReader }>({
    unix: socketPath,
    socket: {
      open: (s) => {
        s.data = {
          reader: new FrameReader((frame) => {
            const hello = frame.type === Request.hello;
            const text = hello ? `snapvisor-agent ${PROTOCOL_VERSION}` : `unknown request type ${frame.type}`;
            s.write(encodeFrame(hello ? Reply.hello : Reply.error, frame.id, Buffer.from(text)));
          }),
        };
      },
      data: (s, chunk) => s.data.reader.push(chunk),
    },
  });
  try {
    expect(await dropTimeWaits(socketPath, PEER, { max: 1, timeoutMs: 5_000 })).toBeNull();
  } finally {
    old.stop(true);
  }
});
