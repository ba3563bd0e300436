import { describe, expect, test } from "bun:test";
import { timeWaitPeers } from "./time-wait-port-hold.ts";

// A guest's /proc/net/tcp: httpd listening on 8080 (1F90), TIME_WAITs (06) from the gateway 10.0.2.2 (0202000A)
// (in tcp and, IPv4-mapped on a socket listening on ::, in tcp6) and from another peer, an established connection from the gateway, and a TIME_WAIT on an unforwarded port.
const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:1F90 0202000A:BB90 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
   2: 0F02000A:1F90 0202000A:C350 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
   3: 0F02000A:1F90 0302000A:BB91 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
   4: 0F02000A:1F90 0202000A:BB92 01 00000000:00000000 00:00000000 00000000     0        0 5678 1 0000000000000000
   5: 0F02000A:0016 0202000A:BB93 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000F02000A:1F90 0000000000000000FFFF00000202000A:A22D 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000
`;

describe("timeWaitPeers", () => {
  test("lists the gateway's TIME_WAITs on forwarded guest ports, and nothing else", () => {
    expect(timeWaitPeers(PROC_NET_TCP, "10.0.2.2", new Set([8080]))).toEqual([
      { guestPort: 8080, peerPort: 0xbb90 },
      { guestPort: 8080, peerPort: 50000 },
      { guestPort: 8080, peerPort: 0xa22d },
    ]);
  });

  test("no forwarded port, or no TIME_WAIT: nothing", () => {
    expect(timeWaitPeers(PROC_NET_TCP, "10.0.2.2", new Set([9999]))).toEqual([]);
    expect(timeWaitPeers("", "10.0.2.2", new Set([8080]))).toEqual([]);
  });
});
