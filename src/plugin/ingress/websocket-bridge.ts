// A WebSocket accepted by the ingress, bridged to a client WebSocket to the guest. Messages the client sends
// before the guest side is open wait in a bounded queue; either side closing closes the other. The connection
// counts as activity of its instance for as long as it is open (an open socket keeps the guest awake).
import type { ServerWebSocket } from "bun";
import type { CoreContext } from "../../core/service/context.ts";

const PENDING_LIMIT_BYTES = 1024 * 1024;
/** "Try again later": the guest side is not keeping up. */
const CLOSE_OVERLOADED = 1013;

export interface SocketData {
  instanceId: string;
  /** False when the rule's target port or the client is ignored by the instance's auto-standby policy. */
  counted: boolean;
  url: string;
  headers: Headers;
  protocols: string | null;
}

interface Bridged {
  upstream: WebSocket;
  pending: (string | Buffer)[];
  pendingBytes: number;
  end: () => void;
}

type Message = string | ArrayBuffer;

export function socketBridge(ctx: CoreContext): Bun.WebSocketHandler<SocketData> {
  const open = new WeakMap<ServerWebSocket<SocketData>, Bridged>();
  const closeCode = (code: number) => (code === 1005 || code === 1006 || code === 1015 ? 1000 : code);
  return {
    open(ws) {
      const { instanceId, counted, url, headers, protocols } = ws.data;
      const end = counted ? ctx.activity.begin(instanceId, "connection") : () => {};
      const upstream = new WebSocket(url, {
        headers: Object.fromEntries(headers),
        ...(protocols ? { protocols: protocols.split(",").map((p) => p.trim()) } : {}),
      } as unknown as string[]);
      upstream.binaryType = "arraybuffer";
      const bridged: Bridged = { upstream, pending: [], pendingBytes: 0, end };
      open.set(ws, bridged);
      upstream.onopen = () => {
        for (const m of bridged.pending) upstream.send(m);
        bridged.pending = [];
        bridged.pendingBytes = 0;
      };
      upstream.onmessage = (e) => ws.send(e.data as Message);
      upstream.onclose = (e) => {
        end();
        ws.close(closeCode(e.code), e.reason);
      };
      upstream.onerror = () => {
        end();
        ws.close(1011, "guest connection failed");
      };
    },
    message(ws, message) {
      const bridged = open.get(ws);
      if (!bridged) return;
      if (bridged.upstream.readyState === WebSocket.OPEN) return bridged.upstream.send(message);
      bridged.pendingBytes += message.length;
      if (bridged.pendingBytes > PENDING_LIMIT_BYTES) return ws.close(CLOSE_OVERLOADED, "guest side not open yet");
      bridged.pending.push(message);
    },
    close(ws, code, reason) {
      const bridged = open.get(ws);
      if (!bridged) return;
      bridged.end();
      if (bridged.upstream.readyState <= WebSocket.OPEN) bridged.upstream.close(closeCode(code), reason);
    },
  };
}
