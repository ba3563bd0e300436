// Ends the guest's TCP TIME_WAITs from one peer (the agent's DROP_TIME_WAIT: sock_diag dump, then SOCK_DESTROY
// for each). An agent from before this request answers "unknown request type": then null.
import { z } from "zod";
import { AgentRefusedError, AgentUsageError, GuestAgentError } from "./connection.ts";
import { Reply, Request } from "./frames.ts";
import { openRequest } from "./request.ts";

const count = z.number().int().nonnegative();
// The guest is untrusted: its answer is checked, and its error text cut short.
const droppedSchema = z.object({ found: count, destroyed: count, errors: count, error: z.string().max(200) });
export type DroppedTimeWaits = z.infer<typeof droppedSchema>;

const UNKNOWN_REQUEST = "agent: unknown request type";

/** Ends at most `max` TIME_WAITs in the guest whose peer is the IPv4 address `peer` (also IPv4-mapped on IPv6). */
export async function dropTimeWaits(socketPath: string, peer: string, options: { max: number; timeoutMs: number }): Promise<DroppedTimeWaits | null> {
  const octets = peer.split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) throw new AgentUsageError(`peer must be an IPv4 address, got ${JSON.stringify(peer)}`);
  const timedOut = () => new GuestAgentError(`drop-time-wait: no reply from the agent at ${socketPath} within ${options.timeoutMs} ms`);
  const request = await openRequest(socketPath, { deadline: performance.now() + options.timeoutMs, timedOut });
  try {
    const payload = Buffer.alloc(8);
    payload.writeUInt32LE(options.max);
    payload.set(octets, 4);
    const answered = request.next((frame) => frame.type === Reply.ok);
    request.send(Request.dropTimeWait, payload);
    const answer = (await answered).payload.toString("utf8");
    const parsed = droppedSchema.safeParse(parseJson(answer));
    if (!parsed.success) throw new GuestAgentError(`drop-time-wait: malformed answer ${JSON.stringify(answer.slice(0, 200))}`);
    return parsed.data;
  } catch (err) {
    if (err instanceof AgentRefusedError && err.message.startsWith(UNKNOWN_REQUEST)) return null;
    throw err;
  } finally {
    request.end();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
