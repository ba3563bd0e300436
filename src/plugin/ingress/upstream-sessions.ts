// One keep-alive connection pool per guest VMM. A pooled connection to a VMM that has since gone (standby, then a
// restore in a new process behind the same loopback forward) would be reused and reset; a new VMM gets a new
// pool, and the old one is closed.
import type { CoreContext } from "../../core/service/context.ts";

type LiveVm = NonNullable<ReturnType<CoreContext["vms"]["get"]>>;

export class UpstreamSessions {
  private readonly sessions = new Map<string, { vm: LiveVm | undefined; session: Bun.FetchSession }>();

  constructor(private readonly ctx: CoreContext) {}

  /** The pool for the instance's current VMM. */
  for(instanceId: string): Bun.FetchSession {
    const vm = this.ctx.vms.get(instanceId);
    const known = this.sessions.get(instanceId);
    if (known && known.vm === vm) return known.session;
    known?.session.close();
    const session = new Bun.FetchSession();
    this.sessions.set(instanceId, { vm, session });
    return session;
  }
}
