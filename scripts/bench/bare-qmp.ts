// The least QMP a benchmark's bare baseline needs: greeting, capabilities, commands, one event wait. Kept
// apart from src/hv/qmp-client.ts on purpose: the baseline must not include our own client.
export class BareQmp {
  private buf = "";
  private waiters: ((msg: Record<string, any>) => boolean)[] = [];
  private constructor(private readonly socket: import("bun").Socket<undefined>) {}

  static async connect(path: string): Promise<BareQmp> {
    for (let i = 0; ; i++) {
      try {
        let q!: BareQmp;
        const socket = await Bun.connect({
          unix: path,
          socket: { data: (_s, chunk) => q.onData(chunk.toString()) },
        });
        q = new BareQmp(socket);
        await q.next((m) => "QMP" in m);
        await q.cmd("qmp_capabilities");
        await q.cmd("migrate-set-parameters", { "max-bandwidth": 1099511627776 });
        await q.cmd("migrate-set-capabilities", { capabilities: [{ capability: "events", state: true }] });
        return q;
      } catch (err) {
        if (i > 500) throw err;
        await Bun.sleep(5);
      }
    }
  }

  private onData(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const msg = JSON.parse(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
      this.waiters = this.waiters.filter((w) => !w(msg));
    }
  }

  private next(match: (m: Record<string, any>) => boolean): Promise<Record<string, any>> {
    return new Promise((resolve) =>
      this.waiters.push((m) => {
        if (!match(m)) return false;
        resolve(m);
        return true;
      }),
    );
  }

  async cmd(execute: string, args?: unknown): Promise<unknown> {
    const reply = this.next((m) => "return" in m || "error" in m);
    this.socket.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    const m = await reply;
    if ("error" in m) throw new Error(`${execute}: ${m.error.desc}`);
    return m.return;
  }

  event(name: string, pred: (data: Record<string, any>) => boolean): Promise<Record<string, any>> {
    return this.next((m) => m.event === name && pred(m.data ?? {}));
  }
}
