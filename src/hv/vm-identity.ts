// What a restore may change in a saved VM's hardware: the identity, not the devices. A migration stream loads only
// into the same device list, so a network device or vmgenid is kept exactly when the snapshot had one; what backs
// the NIC (TAP, slirp forwards), its MAC and the generation id come from the VM being started (a fork's own).
import type { VmConfig } from "./hypervisor.ts";

export function withIdentityOf(saved: VmConfig, current: VmConfig): VmConfig {
  const { network: _network, generationId: _generationId, ...hardware } = saved;
  return {
    ...hardware,
    ...(saved.network && current.network ? { network: current.network } : saved.network ? { network: saved.network } : {}),
    ...(saved.generationId !== undefined ? { generationId: current.generationId ?? saved.generationId } : {}),
  };
}
