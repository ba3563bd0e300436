// The host CPU as a snapshot's memory depends on it: under KVM (`-cpu host`, CH/FC's host CPUID) the guest's
// saved CPU state lists the host's features, and it only loads where those features exist. The flags kept are
// the instruction-set extensions a guest can use; the others in /proc/cpuinfo (bugs, power management, kernel
// mitigations) differ between identical machines and say nothing about whether a snapshot loads.
import { readFileSync } from "node:fs";

export interface HostCpu {
  model: string;
  /** Restore-relevant features the host has, sorted. */
  flags: string[];
}

/** Instruction-set extensions a running guest may have started using (cpuinfo's names). */
export const RESTORE_CPU_FLAGS: readonly string[] = [
  "sse", "sse2", "ssse3", "sse4_1", "sse4_2", "sse4a", "popcnt", "aes", "pclmulqdq", "vpclmulqdq", "sha_ni", "avx", "avx2",
  "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vbmi2", "avx512_vnni",
  "avx512_bitalg", "avx512_vpopcntdq", "avx512_bf16", "avx512_fp16", "avx_vnni", "fma", "f16c", "bmi1", "bmi2", "adx", "movbe",
  "lzcnt", "abm", "rdrand", "rdseed", "rdpid", "xsave", "xsaveopt", "xsavec", "xsaves", "fsgsbase", "erms", "fsrm", "clflushopt",
  "clwb", "gfni", "vaes", "pku", "umip", "invpcid", "cx16", "x2apic", "tsc_deadline_timer", "lm", "nx", "pdpe1gb",
];

const CPUINFO = "/proc/cpuinfo";

export function parseHostCpu(cpuinfo: string): HostCpu {
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const present = new Set(/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? []);
  return { model, flags: RESTORE_CPU_FLAGS.filter((f) => present.has(f)).sort() };
}

/** This host's CPU (an unreadable cpuinfo reads as a CPU with no known features). */
export function probeHostCpu(path = CPUINFO): HostCpu {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {}
  return parseHostCpu(text);
}
