import { describe, expect, test } from "bun:test";
import { listensOn } from "./port-probe.ts";

// As the guest kernel prints them: a listener on 0.0.0.0:8080, an established connection to :8081, and an IPv6
// listener on [::]:22.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0F02000A:1F91 0202000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 1235 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
`;

describe("listensOn", () => {
  test("a LISTEN socket on the port, IPv4 or IPv6, counts; a connection on it or nothing does not", () => {
    expect(listensOn(TCP, 8080)).toBe(true);
    expect(listensOn(TCP, 22)).toBe(true);
    expect(listensOn(TCP, 8081)).toBe(false); // established, not listening
    expect(listensOn(TCP, 80)).toBe(false);
    expect(listensOn("", 8080)).toBe(false);
  });
});
