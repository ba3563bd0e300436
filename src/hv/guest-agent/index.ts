// Host side of the guest agent (protocol 2, scripts/guest/agentd.c): framing (frames.ts), one multiplexed
// connection per agent socket (connection.ts), and the operations below.
export { AgentClosedError, AgentConnection, agentConnection, AgentRefusedError, AgentUsageError, GuestAgentError, TOO_OLD } from "./connection.ts";
export { PROTOCOL_VERSION } from "./frames.ts";
export {
  ENV_NAME_PATTERN,
  EXEC_TIMEOUT_MS,
  MAX_OUTPUT_BYTES,
  REPLY_GRACE_MS,
  TIMED_OUT_EXIT_CODE,
  execInGuest,
  execStream,
  type ExecOptions,
  type ExecResult,
  type StreamExecOptions,
} from "./exec.ts";
export { FILE_CHUNK_BYTES, FileTooLargeError, MAX_GUEST_PATH_BYTES, readFileFromGuest, writeFileInGuest, type FileCopyOptions } from "./files.ts";
export { MAILBOX_DIR, MailboxError, deliverMailboxes, waitForAck, type MailboxContent } from "./mailbox.ts";
export { AGENT_READY_TIMEOUT_MS, waitForAgent } from "./readiness.ts";
export { dropTimeWaits, type DroppedTimeWaits } from "./time-wait.ts";
