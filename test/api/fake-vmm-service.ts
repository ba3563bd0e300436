// A service whose instances run on the fake Cloud Hypervisor process (test/fakes): the whole API, VMs that start,
// stand by and restore, and no QEMU, so API tests can drive every route in a fraction of a second.
import { join } from "node:path";
import { CloudHypervisorDriver } from "../../src/hv/cloud-hypervisor/driver.ts";
import { VmmSupervisor } from "../../src/hv/vmm-process.ts";
import { fakeTarget, removeScratch, scratchDir } from "../contract/vmm-targets.ts";
import { registerFakeImage, startService, type TestService } from "../harness.ts";

export const FAKE_HYPERVISOR = "cloud-hypervisor";

export interface FakeVmmService extends TestService {
  /** Creates a Stopped instance on the fake VMM from the placeholder image `fake`; returns its id. */
  createInstance(name: string): Promise<string>;
}

export async function startFakeVmmService(): Promise<FakeVmmService> {
  const scratch = scratchDir("sv-fv-");
  const supervisor = new VmmSupervisor();
  const fake = fakeTarget(FAKE_HYPERVISOR, scratch);
  const svc = await startService({
    drivers: { [FAKE_HYPERVISOR]: new CloudHypervisorDriver({ command: fake.command, supervisor }) },
    guestImageDir: join(scratch, "no-default-image"),
  });
  await registerFakeImage(svc);
  return {
    ...svc,
    async createInstance(name) {
      const res = await svc.call("POST", "/instances", { name, image: "fake", size: "128MB", overlay_size: "16MB", hypervisor: FAKE_HYPERVISOR });
      if (res.status !== 201) throw new Error(`create ${name}: ${JSON.stringify(res.body)}`);
      return res.body.id;
    },
    async close() {
      await svc.close();
      await supervisor.killAll();
      removeScratch(scratch);
    },
  };
}
