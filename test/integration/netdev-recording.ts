// A recording of every user-mode QEMU's netdev, for tests that prove what happened on the wire between slirp and
// the guest: a wrapper around the QEMU binary adds a filter-dump on the NIC's backend (only to a QEMU that has one,
// not to `--version` or `-machine help`), one pcap per process. Use `qemuConfig` as the service's `hypervisors`.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface NetdevRecording {
  hypervisors: { qemu: { binary: string; accel: "auto"; machine: string; memory: "file" }; cloudHypervisor: { binary: string }; firecracker: { binary: string } };
  /** The pcap files written so far, one per QEMU process. */
  files(): string[];
  /** SYNs toward `guestPort` that one QEMU's slirp sent more than once (a retransmission), as "<file> <port> <seq> xN". */
  synsSentTwice(guestPort: number): string[];
  remove(): void;
}

export function recordNetdevs(): NetdevRecording {
  const dir = mkdtempSync(join(tmpdir(), "sv-pcap-"));
  const binary = join(dir, "qemu-recording");
  writeFileSync(
    binary,
    `#!/bin/sh
case " $* " in
  *" -netdev user,id=net0"*) exec qemu-system-x86_64 "$@" -object "filter-dump,id=wire,netdev=net0,file=${dir}/net-$$.pcap" ;;
esac
exec qemu-system-x86_64 "$@"
`,
  );
  chmodSync(binary, 0o755);
  const files = () =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".pcap"))
      .map((f) => join(dir, f));
  return {
    hypervisors: { qemu: { binary, accel: "auto", machine: "pc-q35-7.2", memory: "file" }, cloudHypervisor: { binary: "cloud-hypervisor" }, firecracker: { binary: "firecracker" } },
    files,
    synsSentTwice(guestPort) {
      const sent = new Map<string, number>();
      for (const file of files()) for (const syn of synsTo(file, guestPort)) sent.set(`${file} ${syn}`, (sent.get(`${file} ${syn}`) ?? 0) + 1);
      return [...sent].filter(([, n]) => n > 1).map(([key, n]) => `${key} x${n}`);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The SYNs (without ACK) toward `port` in a pcap file (Ethernet, IPv4, TCP), as "<source port> <seq>". */
export function synsTo(file: string, port: number): string[] {
  const bytes = readFileSync(file);
  const syns: string[] = [];
  for (let at = 24; at + 16 <= bytes.length; ) {
    const length = bytes.readUInt32LE(at + 8);
    const frame = bytes.subarray(at + 16, at + 16 + length);
    at += 16 + length;
    if (frame.length < 34 || frame.readUInt16BE(12) !== 0x0800 || frame[23] !== 6) continue;
    const tcp = frame.subarray(14 + (frame[14]! & 0x0f) * 4);
    const flags = tcp[13]!;
    if (tcp.readUInt16BE(2) === port && (flags & 0x02) !== 0 && (flags & 0x10) === 0) syns.push(`${tcp.readUInt16BE(0)} ${tcp.readUInt32BE(4)}`);
  }
  return syns;
}
