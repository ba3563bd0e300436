// snapvisor guest agent, protocol 2 (built statically by scripts/build-guest; busybox has no shell fast or
// concurrent enough: a 50 MB copy through an ash `read` loop takes minutes, and ash runs one request at a time).
//
// One byte stream (a virtio-serial port in the guest; `listen:<path>` serves a Unix socket the way QEMU's chardev
// does, for tests on the host) carries frames in both directions:
//
//   "SV" type:u8 flags:u8 id:u32le length:u32le payload[length]        length <= MAX_PAYLOAD
//
// `id` names a request; many run at once. Host -> guest:
//   HELLO    -               -> HELLO "snapvisor-agent <version>"; ends every earlier request (a new host session)
//   EXEC     timeout_s:u32le script     (flags & 1: stdin follows as DATA frames, else /dev/null)
//                            -> STDOUT / STDERR chunks while it runs, then EXIT "<code>" (124 when timed out)
//   DATA     bytes           stdin of an EXEC, or the content of a WRITE; an empty DATA is the end
//   KILL     -               ends the request (EXEC: SIGKILL to its process group; WRITE: temp file removed)
//   WRITE    mode:u32le path -> OK once open; after the empty DATA: fsync, rename into place -> OK
//   READ     offset:u64le max:u32le path -> CHUNK size:u64le bytes (at most max; none at the end)
//   DROP_TIME_WAIT max:u32le peer:4 bytes (IPv4)
//                            -> OK {"found":n,"destroyed":n,"errors":n,"error":"<first failure>"}: ends (SOCK_DESTROY)
//                               at most max TCP TIME_WAITs whose peer is that address (IPv4, or IPv4-mapped on IPv6)
// Any failure of a request -> ERROR "<message>". The agent trusts the host (it is the host's channel into the
// guest) but still bounds what it buffers per frame.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 2
#define HEADER 12
#define MAX_PAYLOAD (1024 * 1024)
#define OUTPUT_CHUNK (64 * 1024)
#define MAX_SESSIONS 64
#define TIMED_OUT_EXIT 124
/* After the command exits, how long its output pipes may stay open (a daemon it started holds them). */
#define LINGER_MS 200
/* TIME_WAITs one DROP_TIME_WAIT ends at most, whatever the host asks. */
#define MAX_DROPPED 4096
#define TCP_STATE_TIME_WAIT 6

enum { T_HELLO = 1, T_EXEC = 2, T_DATA = 3, T_KILL = 4, T_WRITE = 5, T_READ = 6, T_DROP_TIME_WAIT = 7 };
enum { A_HELLO = 0x81, A_STDOUT = 0x82, A_STDERR = 0x83, A_EXIT = 0x84, A_ERROR = 0x85, A_OK = 0x86, A_CHUNK = 0x87 };

struct session {
  int used;
  uint32_t id;
  pid_t pid;         /* exec: the command's process group leader; 0 once reaped */
  int out, err, in;  /* exec pipes, -1 when closed */
  char *inbuf;       /* stdin not yet taken by the command */
  size_t inlen, inoff;
  int in_eof;
  int status;
  long long deadline, linger_until;
  int timed_out;
  int file;          /* write: the temp file */
  char *path, *temp;
};

static struct session sessions[MAX_SESSIONS];
static int port = -1, listener = -1;
static const char *device;
/* Where command scripts are written; overridable so the agent can be tested on a host (guest-agent tests). */
static const char *work_dir = "/run/agent";
static long long port_retry_at;
static unsigned char inframe[HEADER + MAX_PAYLOAD];
/* SIGCHLD writes a byte here so poll wakes as soon as a command exits (reaping on a timer added its tick to every exec). */
static int child_pipe[2];

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  (void)write(child_pipe[1], "", 1);
  errno = saved;
}
static size_t inlen;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = v >> (8 * i);
}

static void port_lost(void) {
  if (port >= 0) close(port);
  port = -1;
  inlen = 0;
  port_retry_at = now_ms() + 50;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n;
    len -= n;
  }
  return 0;
}

/* Frames are written whole and blocking: the host reads continuously, and a frame is at most MAX_PAYLOAD. */
static void send_frame(int type, uint32_t id, const void *payload, size_t len, const void *payload2, size_t len2) {
  if (port < 0) return;
  unsigned char h[HEADER] = {'S', 'V', type, 0};
  put32(h + 4, id);
  put32(h + 8, len + len2);
  if (write_all(port, h, HEADER) || write_all(port, payload, len) || write_all(port, payload2, len2)) port_lost();
}

static void send_text(int type, uint32_t id, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  send_frame(type, id, text, n < 0 ? 0 : (size_t)n >= sizeof text ? sizeof text - 1 : (size_t)n, "", 0);
}

static struct session *find(uint32_t id) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].id == id) return &sessions[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void end_session(struct session *s) {
  if (s->pid > 0) {
    kill(-s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
  }
  close_fd(&s->out);
  close_fd(&s->err);
  close_fd(&s->in);
  close_fd(&s->file);
  if (s->temp) unlink(s->temp);
  free(s->inbuf);
  free(s->path);
  free(s->temp);
  memset(s, 0, sizeof *s);
}

static struct session *new_session(uint32_t id) {
  if (find(id)) {
    send_text(A_ERROR, id, "request id %u is already in use", id);
    return NULL;
  }
  for (int i = 0; i < MAX_SESSIONS; i++) {
    if (!sessions[i].used) {
      struct session *s = &sessions[i];
      memset(s, 0, sizeof *s);
      s->used = 1;
      s->id = id;
      s->out = s->err = s->in = s->file = -1;
      return s;
    }
  }
  send_text(A_ERROR, id, "agent busy: %d requests already running", MAX_SESSIONS);
  return NULL;
}

/* A path from the host: NUL-free (the frame length bounds it) and absolute. */
static char *path_of(const unsigned char *p, size_t len, uint32_t id) {
  if (len == 0 || len > 4096 || p[0] != '/' || memchr(p, 0, len)) {
    send_text(A_ERROR, id, "path must be absolute, without NUL, at most 4096 bytes");
    return NULL;
  }
  return strndup((const char *)p, len);
}

static void start_exec(uint32_t id, int flags, const unsigned char *p, size_t len) {
  if (len < 4) return send_text(A_ERROR, id, "malformed exec request");
  uint32_t timeout_s = le32(p);
  struct session *s = new_session(id);
  if (!s) return;
  /* A file, not an argument: execve caps one argument at 128 KiB. Removed when the request ends. */
  if (asprintf(&s->temp, "%s/%u.sh", work_dir, id) < 0) s->temp = NULL;
  const char *script = s->temp ? s->temp : "/nonexistent";
  int fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int out[2], err[2], in[2] = {-1, -1};
  if (fd < 0 || write_all(fd, p + 4, len - 4) || close(fd) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
      ((flags & 1) && pipe2(in, O_CLOEXEC))) {
    send_text(A_ERROR, id, "cannot start command: %s", strerror(errno));
    end_session(s);
    return;
  }
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int null = open("/dev/null", O_RDONLY);
    dup2(in[0] >= 0 ? in[0] : null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", script, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  if (in[0] >= 0) close(in[0]);
  s->pid = pid;
  s->out = out[0];
  s->err = err[0];
  s->in = in[1];
  if (s->in >= 0) fcntl(s->in, F_SETFL, O_NONBLOCK);
  s->deadline = timeout_s ? now_ms() + timeout_s * 1000LL : 0;
}

static void start_write(uint32_t id, const unsigned char *p, size_t len) {
  if (len < 4) return send_text(A_ERROR, id, "malformed write request");
  char *path = path_of(p + 4, len - 4, id);
  if (!path) return;
  struct session *s = new_session(id);
  if (!s) return free(path);
  s->path = path;
  if (asprintf(&s->temp, "%s.sv-partial-%u", path, id) < 0) s->temp = NULL;
  s->file = s->temp ? open(s->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, le32(p) & 07777) : -1;
  if (s->file < 0) {
    send_text(A_ERROR, id, "cannot create %s: %s", path, strerror(errno));
    free(s->temp);
    s->temp = NULL;
    return end_session(s);
  }
  fchmod(s->file, le32(p) & 07777); /* the umask does not apply to what the host asked for */
  send_frame(A_OK, id, "", 0, "", 0);
}

static void finish_write(struct session *s) {
  int failed = fsync(s->file) != 0;
  failed |= close(s->file) != 0;
  s->file = -1;
  if (failed || rename(s->temp, s->path)) {
    send_text(A_ERROR, s->id, "cannot write %s: %s", s->path, strerror(errno));
  } else {
    free(s->temp);
    s->temp = NULL;
    send_frame(A_OK, s->id, "", 0, "", 0);
  }
  end_session(s);
}

static void read_chunk(uint32_t id, const unsigned char *p, size_t len) {
  if (len < 12) return send_text(A_ERROR, id, "malformed read request");
  uint64_t offset = le32(p) | (uint64_t)le32(p + 4) << 32;
  uint32_t max = le32(p + 8);
  if (max > MAX_PAYLOAD - 8) max = MAX_PAYLOAD - 8;
  char *path = path_of(p + 12, len - 12, id);
  if (!path) return;
  static unsigned char buf[MAX_PAYLOAD];
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    send_text(A_ERROR, id, "cannot read %s: %s", path, fd < 0 ? strerror(errno) : "not a regular file");
  } else {
    ssize_t n = pread(fd, buf + 8, max, offset);
    if (n < 0) {
      send_text(A_ERROR, id, "cannot read %s: %s", path, strerror(errno));
    } else {
      put32(buf, (uint32_t)st.st_size);
      put32(buf + 4, (uint32_t)((uint64_t)st.st_size >> 32));
      send_frame(A_CHUNK, id, buf, 8 + n, "", 0);
    }
  }
  if (fd >= 0) close(fd);
  free(path);
}

/* One netlink sock_diag request: `type` with an inet_diag_req_v2 for TCP TIME_WAITs of `family`. */
static int diag_send(int fd, int type, int flags, int family, const struct inet_diag_sockid *id) {
  struct {
    struct nlmsghdr nlh;
    struct inet_diag_req_v2 req;
  } msg = {
      .nlh = {.nlmsg_len = sizeof msg, .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | flags},
      .req = {.sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = 1 << TCP_STATE_TIME_WAIT},
  };
  if (id) msg.req.id = *id;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  return sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) == sizeof msg ? 0 : -1;
}

struct dropped_socket {
  int family;
  struct inet_diag_sockid id;
};

/* Reads replies until the dump ends (or, for `dropped` NULL, the one ACK arrives): returns the ACK's error (0 when
 * none), or -errno when the socket fails. A dump's TIME_WAITs whose peer is `peer` (IPv4 or IPv4-mapped) go into
 * `dropped` (at most `max`), every one counts in `found`. */
static int diag_replies(int fd, uint32_t peer, struct dropped_socket *dropped, int *count, int max, int *found) {
  static unsigned char buf[32 * 1024];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EPIPE;
    int len = n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) ? e->error : -EPROTO;
      }
      if (!dropped || h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
      struct inet_diag_msg *m = NLMSG_DATA(h);
      const uint32_t *dst = m->id.idiag_dst;
      int mapped = m->idiag_family == AF_INET6 && dst[0] == 0 && dst[1] == 0 && dst[2] == htonl(0xffff) && dst[3] == peer;
      if (m->idiag_state != TCP_STATE_TIME_WAIT || !((m->idiag_family == AF_INET && dst[0] == peer) || mapped)) continue;
      ++*found;
      if (*count < max) dropped[(*count)++] = (struct dropped_socket){m->idiag_family, m->id};
    }
  }
}

/* Ends the TIME_WAITs from one peer. The guest's own sockets, so no races matter beyond one ending meanwhile: the
 * dump's cookie makes SOCK_DESTROY refuse (ESTALE) whatever took its address since, a listener above all. */
static void drop_time_waits(uint32_t id, const unsigned char *p, size_t len) {
  if (len != 8) return send_text(A_ERROR, id, "malformed drop-time-wait request");
  int max = le32(p) < MAX_DROPPED ? (int)le32(p) : MAX_DROPPED;
  uint32_t peer;
  memcpy(&peer, p + 4, 4);
  static struct dropped_socket dropped[MAX_DROPPED];
  int count = 0, found = 0, destroyed = 0, errors = 0, first_error = 0;
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  /* The kernel answers at once; the timeout only bounds how long a misbehaving one can stall every other request. */
  struct timeval limit = {.tv_sec = 1};
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit)) {
    send_text(A_ERROR, id, "cannot open sock_diag: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  const int families[] = {AF_INET, AF_INET6};
  for (int f = 0; f < 2; f++) {
    int err = diag_send(fd, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, families[f], NULL) ? -errno
                                                                                : diag_replies(fd, peer, dropped, &count, max, &found);
    if (err) {
      send_text(A_ERROR, id, "sock_diag dump failed: %s", strerror(-err));
      close(fd);
      return;
    }
  }
  for (int i = 0; i < count; i++) {
    int err = diag_send(fd, SOCK_DESTROY, NLM_F_ACK, dropped[i].family, &dropped[i].id) ? -errno
                                                                                         : diag_replies(fd, peer, NULL, NULL, 0, NULL);
    if (err == 0) destroyed++;
    else if (errors++ == 0) first_error = -err;
  }
  close(fd);
  send_text(A_OK, id, "{\"found\":%d,\"destroyed\":%d,\"errors\":%d,\"error\":\"%s\"}", found, destroyed, errors,
            first_error ? strerror(first_error) : "");
}

static void take_data(uint32_t id, const unsigned char *p, size_t len) {
  struct session *s = find(id);
  if (!s) return; /* ended already (killed, failed): the rest of its data is dropped */
  if (s->file >= 0) {
    if (len == 0) return finish_write(s);
    if (write_all(s->file, p, len)) {
      send_text(A_ERROR, id, "cannot write %s: %s", s->path, strerror(errno));
      end_session(s);
    }
    return;
  }
  if (s->in < 0) return;
  if (len == 0) {
    s->in_eof = 1;
  } else {
    s->inbuf = realloc(s->inbuf, s->inlen + len);
    memcpy(s->inbuf + s->inlen, p, len);
    s->inlen += len;
  }
}

static void handle_frame(int type, int flags, uint32_t id, const unsigned char *p, size_t len) {
  switch (type) {
    case T_HELLO:
      for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i].used) end_session(&sessions[i]);
      send_text(A_HELLO, id, "snapvisor-agent %d", PROTOCOL_VERSION);
      break;
    case T_EXEC: start_exec(id, flags, p, len); break;
    case T_DATA: take_data(id, p, len); break;
    case T_KILL: {
      struct session *s = find(id);
      if (s) end_session(s);
      break;
    }
    case T_WRITE: start_write(id, p, len); break;
    case T_READ: read_chunk(id, p, len); break;
    case T_DROP_TIME_WAIT: drop_time_waits(id, p, len); break;
    default: send_text(A_ERROR, id, "unknown request type %d", type);
  }
}

/* Parses what arrived; bytes before a header's "SV" are noise and skipped, so the stream resynchronises. */
static void read_port(void) {
  ssize_t n = read(port, inframe + inlen, sizeof inframe - inlen);
  if (n <= 0) {
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (listener >= 0) return port_lost();
    /* virtio-serial: no host connected. Keep the fd, look again shortly. */
    port_retry_at = now_ms() + 50;
    return;
  }
  inlen += n;
  size_t at = 0;
  for (;;) {
    while (at < inlen && !(inframe[at] == 'S' && (at + 1 == inlen || inframe[at + 1] == 'V'))) at++;
    if (inlen - at < HEADER) break;
    uint32_t len = le32(inframe + at + 8);
    if (len > MAX_PAYLOAD) {
      at++;
      continue;
    }
    if (inlen - at < HEADER + len) break;
    handle_frame(inframe[at + 2], inframe[at + 3], le32(inframe + at + 4), inframe + at + HEADER, len);
    at += HEADER + len;
    if (port < 0) return;
  }
  memmove(inframe, inframe + at, inlen - at);
  inlen -= at;
}

static void pump_output(struct session *s, int *fd, int type) {
  static unsigned char buf[OUTPUT_CHUNK];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n > 0) send_frame(type, s->id, buf, n, "", 0);
  else if (n == 0 || errno != EINTR) close_fd(fd);
}

static void pump_input(struct session *s) {
  if (s->inoff < s->inlen) {
    ssize_t n = write(s->in, s->inbuf + s->inoff, s->inlen - s->inoff);
    if (n > 0) s->inoff += n;
    else if (errno == EPIPE) s->in_eof = 1, s->inoff = s->inlen;
  }
  if (s->inoff == s->inlen) {
    s->inoff = s->inlen = 0;
    if (s->in_eof) close_fd(&s->in);
  }
}

static void check_exec(struct session *s, long long now) {
  if (s->pid > 0 && s->deadline && now >= s->deadline) {
    kill(-s->pid, SIGKILL);
    s->timed_out = 1;
    s->deadline = 0;
  }
  if (s->pid > 0 && waitpid(s->pid, &s->status, WNOHANG) == s->pid) {
    s->pid = 0;
    s->linger_until = now + LINGER_MS;
  }
  if (s->pid == 0 && ((s->out < 0 && s->err < 0) || now >= s->linger_until)) {
    int code = s->timed_out ? TIMED_OUT_EXIT : WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
    send_text(A_EXIT, s->id, "%d", code);
    end_session(s);
  }
}

static void open_port(void) {
  if (listener >= 0) {
    port = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    return;
  }
  port = open(device, O_RDWR | O_CLOEXEC);
  if (port < 0) port_retry_at = now_ms() + 500;
}

static int listen_on(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) || listen(fd, 8)) return -1;
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: snapvisor-agentd DEVICE | listen:SOCKET\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(child_pipe, O_CLOEXEC | O_NONBLOCK)) return perror("pipe"), 1;
  struct sigaction chld = {.sa_handler = on_child, .sa_flags = SA_RESTART | SA_NOCLDSTOP};
  sigaction(SIGCHLD, &chld, NULL);
  if (getenv("SNAPVISOR_AGENT_WORK_DIR")) work_dir = getenv("SNAPVISOR_AGENT_WORK_DIR");
  mkdir(work_dir, 0700);
  if (strncmp(argv[1], "listen:", 7) == 0) {
    listener = listen_on(argv[1] + 7);
    if (listener < 0) return perror("listen"), 1;
  } else {
    device = argv[1];
  }
  for (;;) {
    struct pollfd fds[2 + 3 * MAX_SESSIONS];
    struct session *owner[2 + 3 * MAX_SESSIONS];
    int kind[2 + 3 * MAX_SESSIONS];
    int n = 0;
    long long now = now_ms();
    if (port < 0 && listener < 0 && now >= port_retry_at) open_port();
    if (port >= 0 && now >= port_retry_at) fds[n] = (struct pollfd){port, POLLIN, 0}, owner[n] = NULL, kind[n++] = 0;
    if (port < 0 && listener >= 0) fds[n] = (struct pollfd){listener, POLLIN, 0}, owner[n] = NULL, kind[n++] = 1;
    fds[n] = (struct pollfd){child_pipe[0], POLLIN, 0}, owner[n] = NULL, kind[n++] = 5;
    int busy = 0;
    for (int i = 0; i < MAX_SESSIONS; i++) {
      struct session *s = &sessions[i];
      if (!s->used || s->file >= 0) continue;
      busy = 1;
      if (s->out >= 0) fds[n] = (struct pollfd){s->out, POLLIN, 0}, owner[n] = s, kind[n++] = 2;
      if (s->err >= 0) fds[n] = (struct pollfd){s->err, POLLIN, 0}, owner[n] = s, kind[n++] = 3;
      if (s->in >= 0 && (s->inlen > s->inoff || s->in_eof)) fds[n] = (struct pollfd){s->in, POLLOUT, 0}, owner[n] = s, kind[n++] = 4;
    }
    /* SIGCHLD wakes the poll; the timeout only bounds how late a deadline or a lingering pipe is noticed. */
    poll(fds, n, busy ? 20 : 50);
    for (int i = 0; i < n; i++) {
      if (!fds[i].revents) continue;
      struct session *s = owner[i];
      if (s && !s->used) continue;
      switch (kind[i]) {
        case 0: read_port(); break;
        case 1: open_port(); break;
        case 2: pump_output(s, &s->out, A_STDOUT); break;
        case 3: pump_output(s, &s->err, A_STDERR); break;
        case 4: pump_input(s); break;
        case 5: {
          char drain[64];
          while (read(child_pipe[0], drain, sizeof drain) > 0) {}
          break;
        }
      }
    }
    now = now_ms();
    for (int i = 0; i < MAX_SESSIONS; i++)
      if (sessions[i].used && sessions[i].file < 0) check_exec(&sessions[i], now);
  }
}
