/*
 * tsbuild-run: the RUN-step runtime helper of tsbuild.
 *
 * Node never forks itself: native/index.ts exec's this small single-threaded
 * program through child_process.spawn (libuv's fork+exec, async-signal-safe in
 * the child). Because this process has exactly one thread, it may use clone()
 * with fork semantics and ordinary libc calls freely.
 *
 * Process structure:
 *
 *   node ──spawn──► H  tsbuild-run (host namespaces; writes uid/gid maps, waits,
 *                    │  forwards SIGTERM/SIGINT/SIGHUP and parent death as SIGKILL,
 *                    │  removes its scratch dirs afterwards)
 *                    └─clone(NEWNS|NEWPID|NEWUTS|NEWIPC[|NEWNET][|NEWUSER])──► C
 *                         C = pid 1 of the new pid namespace: mounts the rootfs,
 *                         pivot_root, then forks G and reaps zombies; exits with
 *                         G's status (which tears the pid namespace down, killing
 *                         every leftover process).
 *                         └─fork──► G: setsid, drop caps, setgroups/gid/uid,
 *                                   no_new_privs, pdeathsig, seccomp filter, execve(command).
 *
 * Protocol with node: argv (see parse_args), stdin = /dev/null, stdout/stderr =
 * the command's streams, fd 3 = status lines:
 *   "warn <text>"   something was not possible (chroot mode degrades)
 *   "error <text>"  setup failed (the step did not run or exec failed)
 *   "exit <n>"      the command exited with status n
 *   "signal <n>"    the command was killed by signal n
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 3
#define MAX_ITEMS 1024

/* Docker's / runc's default capability set:
 * CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
 * NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP  == 0x00000000a80425fb */
static const uint64_t DEFAULT_CAPS =
    (1ULL << CAP_CHOWN) | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_FSETID) |
    (1ULL << CAP_KILL) | (1ULL << CAP_SETGID) | (1ULL << CAP_SETUID) | (1ULL << CAP_SETPCAP) |
    (1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_NET_RAW) | (1ULL << CAP_SYS_CHROOT) |
    (1ULL << CAP_MKNOD) | (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_SETFCAP);

enum mode { MODE_OCI, MODE_ROOTLESS, MODE_CHROOT };
enum net { NET_NONE, NET_HOST, NET_PRIVATE };

struct idmap { unsigned long c, h, s; };
struct mnt {
  char *type, *src, *dst, *opts;
  int ro;
  int fd; /* detached bind (open_tree) prepared before pivot_root */
};

static struct {
  enum mode mode;
  enum net net;
  int probe;
  char *lowers[MAX_ITEMS]; int nlowers; /* lowest first */
  char *upper, *work, *dir;
  char *cwd, *hostname, *hosts, *resolv;
  unsigned uid, gid;
  gid_t groups[256]; int ngroups;
  struct idmap uidmap[64]; int nuidmap;
  struct idmap gidmap[64]; int ngidmap;
  int use_newidmap;
  int no_seccomp; /* --no-seccomp: the step runs without the syscall filter */
  struct mnt mounts[MAX_ITEMS]; int nmounts;
  char **env; int nenv;
  char **args; int nargs;
} cfg;

/* runtime state */
static int clone_flags;
static int setgroups_denied;
static pid_t child_pid;
static volatile sig_atomic_t got_signal;
static char created[MAX_ITEMS][512]; /* mount points created in a plain dir rootfs */
static int ncreated;
static int rootfd_is_dir_mode;
static int entered_by_chroot; /* root entered with chroot(2), not pivot_root */

/* ------------------------------------------------------------------ utils */

static void status(const char *kind, const char *fmt, ...) {
  char buf[4096];
  int n = snprintf(buf, sizeof buf, "%s ", kind);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  for (int i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = ' ';
  buf[n++] = '\n';
  ssize_t w = write(STATUS_FD, buf, n);
  (void)w;
}

#define FAIL(...) do { status("error", __VA_ARGS__); _exit(125); } while (0)
#define WARN(...) status("warn", __VA_ARGS__)

static int is_chroot_mode(void) { return cfg.mode == MODE_CHROOT; }

/* soft failure: in chroot mode a warning, otherwise fatal */
#define SOFT(...) do { if (is_chroot_mode()) WARN(__VA_ARGS__); else FAIL(__VA_ARGS__); } while (0)

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  ssize_t n = write(fd, data, len);
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)len ? 0 : -1;
}

static int xopenat2(int dirfd, const char *path, int flags, uint64_t resolve) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)flags | O_CLOEXEC;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* Create `rel` (a path inside the root `rootfd`, symlinks resolved inside the
 * root) as a directory or an empty file unless something already exists there.
 * Records what it created when `record` (plain-dir rootfs: removed afterwards). */
static int ensure_in_root(int rootfd, const char *rel, int want_file, int record) {
  char path[4096];
  while (*rel == '/') rel++;
  if (!*rel) return 0;
  snprintf(path, sizeof path, "%s", rel);
  size_t len = strlen(path);
  while (len > 0 && path[len - 1] == '/') path[--len] = 0;
  for (char *p = path;; ) {
    char *slash = strchr(p, '/');
    int last = slash == NULL;
    if (!last) *slash = 0;
    int fd = xopenat2(rootfd, path, O_PATH, RESOLVE_IN_ROOT);
    if (fd >= 0) {
      close(fd);
    } else if (errno == ENOENT) {
      /* parent resolves (created in the previous round); create the entry */
      char *base = strrchr(path, '/');
      int pfd;
      const char *name;
      if (base) {
        *base = 0;
        pfd = xopenat2(rootfd, path, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
        *base = '/';
        name = base + 1;
      } else {
        pfd = dup(rootfd);
        name = path;
      }
      if (pfd < 0) return -1;
      struct stat st;
      if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        /* dangling symlink (e.g. /etc/resolv.conf -> ../run/...): replace it */
        if (unlinkat(pfd, name, 0) != 0) { int e = errno; close(pfd); errno = e; return -1; }
      }
      int rc;
      if (last && want_file) {
        int ffd = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        rc = ffd < 0 ? -1 : 0;
        if (ffd >= 0) close(ffd);
      } else {
        rc = mkdirat(pfd, name, 0755);
      }
      int e = errno;
      close(pfd);
      if (rc != 0) { errno = e; return -1; }
      if (record && ncreated < MAX_ITEMS) snprintf(created[ncreated++], sizeof created[0], "%s", path);
    } else {
      return -1;
    }
    if (last) break;
    *slash = '/';
    p = slash + 1;
  }
  return 0;
}

/* ------------------------------------------------------------- arguments */

static unsigned long parse_ul(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *end || !*s) FAIL("bad %s: %s", what, s);
  return v;
}

static void parse_map(const char *s, struct idmap *m) {
  if (sscanf(s, "%lu:%lu:%lu", &m->c, &m->h, &m->s) != 3) FAIL("bad id map %s", s);
}

static void parse_args(int argc, char **argv) {
  static char *envbuf[MAX_ITEMS * 4];
  cfg.env = envbuf;
  cfg.cwd = "/";
  int i = 1;
#define NEED(n) do { if (i + (n) >= argc) FAIL("option %s needs %d value(s)", argv[i], (n)); } while (0)
  for (; i < argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    if (!strcmp(a, "--probe")) { cfg.probe = 1; continue; }
    if (!strcmp(a, "--newidmap")) { cfg.use_newidmap = 1; continue; }
    if (!strcmp(a, "--no-seccomp")) { cfg.no_seccomp = 1; continue; }
    if (!strcmp(a, "--mount")) {
      NEED(5);
      if (cfg.nmounts >= MAX_ITEMS) FAIL("too many mounts");
      struct mnt *m = &cfg.mounts[cfg.nmounts++];
      m->type = argv[++i]; m->src = argv[++i]; m->dst = argv[++i];
      m->ro = !strcmp(argv[++i], "ro"); m->opts = argv[++i]; m->fd = -1;
      continue;
    }
    NEED(1);
    char *v = argv[++i];
    if (!strcmp(a, "--mode")) {
      if (!strcmp(v, "oci")) cfg.mode = MODE_OCI;
      else if (!strcmp(v, "rootless")) cfg.mode = MODE_ROOTLESS;
      else if (!strcmp(v, "chroot")) cfg.mode = MODE_CHROOT;
      else FAIL("bad mode %s", v);
    } else if (!strcmp(a, "--net")) {
      if (!strcmp(v, "none")) cfg.net = NET_NONE;
      else if (!strcmp(v, "host")) cfg.net = NET_HOST;
      else if (!strcmp(v, "private")) cfg.net = NET_PRIVATE;
      else FAIL("bad network %s", v);
    } else if (!strcmp(a, "--lower")) {
      if (cfg.nlowers >= MAX_ITEMS - 1) FAIL("too many lower dirs");
      cfg.lowers[cfg.nlowers++] = v;
    } else if (!strcmp(a, "--upper")) cfg.upper = v;
    else if (!strcmp(a, "--work")) cfg.work = v;
    else if (!strcmp(a, "--dir")) cfg.dir = v;
    else if (!strcmp(a, "--cwd")) cfg.cwd = v;
    else if (!strcmp(a, "--hostname")) cfg.hostname = v;
    else if (!strcmp(a, "--hosts")) cfg.hosts = v;
    else if (!strcmp(a, "--resolv")) cfg.resolv = v;
    else if (!strcmp(a, "--uid")) cfg.uid = (unsigned)parse_ul(v, "uid");
    else if (!strcmp(a, "--gid")) cfg.gid = (unsigned)parse_ul(v, "gid");
    else if (!strcmp(a, "--group")) {
      if (cfg.ngroups >= 256) FAIL("too many groups");
      cfg.groups[cfg.ngroups++] = (gid_t)parse_ul(v, "group");
    } else if (!strcmp(a, "--uidmap")) {
      if (cfg.nuidmap >= 64) FAIL("too many uid map entries");
      parse_map(v, &cfg.uidmap[cfg.nuidmap++]);
    } else if (!strcmp(a, "--gidmap")) {
      if (cfg.ngidmap >= 64) FAIL("too many gid map entries");
      parse_map(v, &cfg.gidmap[cfg.ngidmap++]);
    } else if (!strcmp(a, "--env")) {
      if (cfg.nenv >= MAX_ITEMS * 4 - 1) FAIL("too many env entries");
      cfg.env[cfg.nenv++] = v;
    } else FAIL("unknown option %s", a);
  }
  cfg.env[cfg.nenv] = NULL;
  cfg.args = argv + i;
  cfg.nargs = argc - i;
  if (!cfg.probe) {
    if (cfg.nargs < 1) FAIL("no command given");
    if (!cfg.dir && (!cfg.upper || !cfg.work)) FAIL("need --dir or --upper and --work");
    if (cfg.dir && cfg.nlowers) FAIL("--dir and --lower are exclusive");
  }
}

/* ------------------------------------------------------ id maps (parent) */

static int run_newidmap(const char *prog, pid_t pid, struct idmap *m, int n, char *err, size_t errlen) {
  char *argv[3 + 64 * 3 + 1];
  char bufs[1 + 64 * 3][24];
  int k = 0;
  argv[k++] = (char *)prog;
  snprintf(bufs[0], sizeof bufs[0], "%d", (int)pid);
  argv[k++] = bufs[0];
  for (int i = 0; i < n; i++) {
    snprintf(bufs[1 + i * 3], 24, "%lu", m[i].c);
    snprintf(bufs[2 + i * 3], 24, "%lu", m[i].h);
    snprintf(bufs[3 + i * 3], 24, "%lu", m[i].s);
    argv[k++] = bufs[1 + i * 3];
    argv[k++] = bufs[2 + i * 3];
    argv[k++] = bufs[3 + i * 3];
  }
  argv[k] = NULL;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  pid_t c = fork();
  if (c < 0) return -1;
  if (c == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    execvp(prog, argv);
    dprintf(2, "exec %s: %s", prog, strerror(errno));
    _exit(127);
  }
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while (got < errlen - 1 && (r = read(p[0], err + got, errlen - 1 - got)) > 0) got += r;
  err[got] = 0;
  close(p[0]);
  int st;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void write_maps(pid_t pid) {
  char path[64], buf[64 * 64];
  if (cfg.use_newidmap) {
    char err[1024];
    if (run_newidmap("newuidmap", pid, cfg.uidmap, cfg.nuidmap, err, sizeof err) != 0)
      FAIL("newuidmap: %s", err);
    if (run_newidmap("newgidmap", pid, cfg.gidmap, cfg.ngidmap, err, sizeof err) != 0)
      FAIL("newgidmap: %s", err);
    return;
  }
  if (geteuid() != 0) {
    /* an unprivileged process may only map itself, and must deny setgroups */
    snprintf(path, sizeof path, "/proc/%d/setgroups", (int)pid);
    if (write_file(path, "deny") != 0) FAIL("write %s: %s", path, strerror(errno));
    setgroups_denied = 1;
  }
  int n = 0;
  for (int i = 0; i < cfg.nuidmap; i++)
    n += snprintf(buf + n, sizeof buf - n, "%lu %lu %lu\n", cfg.uidmap[i].c, cfg.uidmap[i].h, cfg.uidmap[i].s);
  snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
  if (write_file(path, buf) != 0) FAIL("write uid_map (%s): %s", buf, strerror(errno));
  n = 0;
  for (int i = 0; i < cfg.ngidmap; i++)
    n += snprintf(buf + n, sizeof buf - n, "%lu %lu %lu\n", cfg.gidmap[i].c, cfg.gidmap[i].h, cfg.gidmap[i].s);
  snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
  if (write_file(path, buf) != 0) FAIL("write gid_map (%s): %s", buf, strerror(errno));
}

/* ---------------------------------------------------------------- mounts */

static const char *dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define NDEV (sizeof dev_nodes / sizeof dev_nodes[0])
static int dev_fds[NDEV];
static int sys_fd = -1, proc_fd = -1, hosts_fd = -1, resolv_fd = -1;

static int detached_bind(const char *src, int recursive, int ro) {
  int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (fd < 0) return -1;
  if (ro) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
  }
  return fd;
}

/* A fresh filesystem as a detached mount. proc and sysfs must be created while
 * a fully visible instance is still in our mount namespace (the kernel's
 * mount_too_revealing check in user namespaces), i.e. before pivot_root. */
static int detached_fs(const char *type, unsigned attrs) {
  int fs = fsopen(type, FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) != 0) { int e = errno; close(fs); errno = e; return -1; }
  int m = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
  int e = errno;
  close(fs);
  errno = e;
  return m;
}

static int attach(int fd, const char *target) {
  return move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

static char *join_path(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", a, b);
  return p;
}

/* Mount points the rootfs must have. In overlay mode they are created in a
 * throw-away "init layer" (like Docker's -init layer) that sits above the
 * image's lower dirs, so the caller's upper dir only receives what the command
 * wrote. In plain-dir mode they are created in the dir and removed afterwards. */
static void create_mount_points(int rootfd, int record) {
#define ENSURE(p, f) do { if (ensure_in_root(rootfd, (p), (f), record) != 0) SOFT("create mount point %s: %s", (p), strerror(errno)); } while (0)
  ENSURE("proc", 0);
  ENSURE("sys", 0);
  ENSURE("dev", 0);
  if (cfg.hosts) ENSURE("etc/hosts", 1);
  if (cfg.resolv) ENSURE("etc/resolv.conf", 1);
  for (int i = 0; i < cfg.nmounts; i++) {
    struct mnt *m = &cfg.mounts[i];
    int file = 0;
    if (!strcmp(m->type, "bind")) {
      struct stat st;
      if (stat(m->src, &st) != 0) FAIL("bind source %s: %s", m->src, strerror(errno));
      file = !S_ISDIR(st.st_mode);
    }
    ENSURE(m->dst, file);
  }
#undef ENSURE
}

static int mkdir_p(const char *path, mode_t mode) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = 0;
      if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
      *p = '/';
    }
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* The overlay options that make the upper dir exactly the step's layer and cheap to drop:
 *  - redirect_dir=nofollow, metacopy=off, index=off: a renamed lower dir is copied up whole (not
 *    a redirect xattr), a chmod copies data too (not a metadata-only file whose data stays below),
 *    no index entries: whatever a distribution kernel defaults to, the upper then holds every byte
 *    of what changed, which the layer scan and the snapshot kept from it rely on;
 *  - volatile: no sync of the whole upper file system when the overlay is unmounted (once for the
 *    init layer, once when the container's mount namespace goes away). tsbuild makes the layer
 *    blob durable itself; the upper is either thrown away or becomes a snapshot, which is not
 *    synced either when unpacked from a blob.
 * Older kernels refuse unknown options: then fewer are used (volatile needs 5.10). */
static int mount_overlay(const char *target, const char *base) {
  static const char *extra[] = {",redirect_dir=nofollow,metacopy=off,index=off,volatile",
                                ",redirect_dir=nofollow,metacopy=off,index=off", ""};
  size_t n = strlen(base) + 80;
  char *opts = malloc(n);
  int rc = -1, err = 0;
  for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
    snprintf(opts, n, "%s%s", base, extra[i]);
    if (strlen(opts) >= 4096) continue;
    rc = mount("overlay", target, "overlay", 0, opts);
    err = errno;
    if (rc == 0 || err != EINVAL) break;
  }
  free(opts);
  errno = err;
  return rc;
}

/* Returns the directory to become the new root (a mount point). */
static char *prepare_rootfs(void) {
  if (cfg.dir) {
    /* plain dir: bind it onto itself so it is a mount point for pivot_root */
    int rootfd = open(cfg.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) FAIL("open rootfs %s: %s", cfg.dir, strerror(errno));
    create_mount_points(rootfd, 1);
    rootfd_is_dir_mode = 1;
    close(rootfd);
    if (clone_flags & CLONE_NEWNS) {
      if (mount(cfg.dir, cfg.dir, NULL, MS_BIND | MS_REC, NULL) != 0)
        SOFT("bind rootfs %s: %s", cfg.dir, strerror(errno));
    }
    return cfg.dir;
  }

  const char *ux = cfg.mode == MODE_ROOTLESS ? ",userxattr" : "";
  char *iu = join_path(cfg.work, "iu"), *iw = join_path(cfg.work, "iw");
  char *im = join_path(cfg.work, "im"), *w = join_path(cfg.work, "w");
  char *m = join_path(cfg.work, "m");
  if (mkdir(iu, 0755) || mkdir(iw, 0700) || mkdir(im, 0700) || mkdir(w, 0700) || mkdir(m, 0755))
    FAIL("create scratch dirs in %s: %s (workDir must be empty)", cfg.work, strerror(errno));

  /* The overlay options must fit in one page. When every lower dir is in one directory (the
   * snapshot store's short links), mount from inside it with bare names, as containers/storage
   * does: ~22 bytes a layer instead of the whole path, so a deep image (100+ layers) still fits. */
  size_t base_len = 0;
  const char *slash = cfg.nlowers > 0 ? strrchr(cfg.lowers[0], '/') : NULL;
  if (slash && slash != cfg.lowers[0]) {
    base_len = (size_t)(slash - cfg.lowers[0]);
    for (int i = 1; i < cfg.nlowers && base_len; i++) {
      const char *s2 = strrchr(cfg.lowers[i], '/');
      if (!s2 || (size_t)(s2 - cfg.lowers[i]) != base_len || strncmp(cfg.lowers[i], cfg.lowers[0], base_len) != 0) base_len = 0;
    }
  }
  if (base_len) {
    char *base = strndup(cfg.lowers[0], base_len);
    if (chdir(base) != 0) FAIL("chdir %s: %s", base, strerror(errno));
    free(base);
  }
  size_t cap = 64 + strlen(iu);
  for (int i = 0; i < cfg.nlowers; i++) cap += strlen(cfg.lowers[i]) + 1;
  char *lowers = malloc(cap);
  lowers[0] = 0;
  for (int i = cfg.nlowers - 1; i >= 0; i--) { /* top-most first */
    strcat(lowers, cfg.lowers[i] + (base_len ? base_len + 1 : 0));
    if (i) strcat(lowers, ":");
  }

  /* 1. init layer: mount points created on top of the image, outside the upper dir */
  int rootfd;
  if (cfg.nlowers > 0) {
    char *opts = malloc(cap + strlen(iw) + 64);
    sprintf(opts, "lowerdir=%s,upperdir=%s,workdir=%s%s", lowers, iu, iw, ux);
    if (strlen(opts) >= 4096) FAIL("overlay options exceed one page; use shorter lower dir links");
    if (mount_overlay(im, opts) != 0)
      FAIL("mount overlay (init layer): %s [%s]", strerror(errno), opts);
    free(opts);
    rootfd = open(im, O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    rootfd = open(iu, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  if (rootfd < 0) FAIL("open init layer: %s", strerror(errno));
  create_mount_points(rootfd, 0);
  close(rootfd);
  if (cfg.nlowers > 0 && umount2(im, 0) != 0) FAIL("umount init layer: %s", strerror(errno));

  /* 2. the real rootfs: upper over init layer over the image */
  char *opts = malloc(cap + strlen(iu) + strlen(cfg.upper) + strlen(w) + 64);
  sprintf(opts, "lowerdir=%s%s%s,upperdir=%s,workdir=%s%s", iu, cfg.nlowers ? ":" : "", lowers, cfg.upper, w, ux);
  if (strlen(opts) >= 4096) FAIL("overlay options exceed one page; use shorter lower dir links");
  if (mount_overlay(m, opts) != 0) FAIL("mount overlay: %s [%s]", strerror(errno), opts);
  free(opts);
  free(lowers);
  return m;
}

/* Prepare detached bind mounts of host paths while the host tree is visible. */
static void prepare_binds(void) {
  for (size_t i = 0; i < NDEV; i++) {
    char p[32];
    snprintf(p, sizeof p, "/dev/%s", dev_nodes[i]);
    dev_fds[i] = detached_bind(p, 0, 0);
    if (dev_fds[i] < 0) SOFT("bind %s: %s", p, strerror(errno));
  }
  const unsigned nsd = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  proc_fd = detached_fs("proc", nsd);
  if (proc_fd < 0) SOFT("mount proc: %s", strerror(errno));
  /* sysfs needs a network namespace we own; otherwise bind the host's read-only */
  if (clone_flags & CLONE_NEWNET) sys_fd = detached_fs("sysfs", nsd | MOUNT_ATTR_RDONLY);
  if (sys_fd < 0) {
    sys_fd = detached_bind("/sys", 1, 1);
    if (sys_fd < 0) SOFT("bind /sys: %s", strerror(errno));
  }
  for (int i = 0; i < cfg.nmounts; i++) {
    struct mnt *m = &cfg.mounts[i];
    if (strcmp(m->type, "bind") != 0) continue;
    m->fd = detached_bind(m->src, 1, m->ro);
    if (m->fd < 0) FAIL("bind %s: %s", m->src, strerror(errno));
  }
  if (cfg.hosts) {
    hosts_fd = detached_bind(cfg.hosts, 0, 1);
    if (hosts_fd < 0) SOFT("bind %s: %s", cfg.hosts, strerror(errno));
  }
  if (cfg.resolv) {
    resolv_fd = detached_bind(cfg.resolv, 0, 1);
    if (resolv_fd < 0) SOFT("bind %s: %s", cfg.resolv, strerror(errno));
  }
}


static void mount_or(const char *src, const char *tgt, const char *type, unsigned long fl, const char *data, int fatal) {
  if (mount(src, tgt, type, fl, data) == 0) return;
  if (fatal) SOFT("mount %s on %s: %s", type ? type : src, tgt, strerror(errno));
  else WARN("mount %s on %s: %s", type ? type : src, tgt, strerror(errno));
}

/* After pivot_root/chroot: everything is resolved inside the container. */
static void mount_inside(void) {
  const unsigned long nsd = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (proc_fd >= 0 && attach(proc_fd, "/proc") != 0) SOFT("attach /proc: %s", strerror(errno));

  mount_or("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", 1);
  for (size_t i = 0; i < NDEV; i++) {
    char p[32];
    snprintf(p, sizeof p, "/dev/%s", dev_nodes[i]);
    int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) close(fd);
    if (dev_fds[i] >= 0 && attach(dev_fds[i], p) != 0) SOFT("attach %s: %s", p, strerror(errno));
  }
  if (symlink("/proc/self/fd", "/dev/fd")) {}
  if (symlink("/proc/self/fd/0", "/dev/stdin")) {}
  if (symlink("/proc/self/fd/1", "/dev/stdout")) {}
  if (symlink("/proc/self/fd/2", "/dev/stderr")) {}
  if (symlink("/proc/kcore", "/dev/core")) {}
  mkdir("/dev/pts", 0755);
  mkdir("/dev/shm", 01777);
  mkdir("/dev/mqueue", 0755);
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
    mount_or("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", 0);
  if (symlink("pts/ptmx", "/dev/ptmx")) {}
  mount_or("shm", "/dev/shm", "tmpfs", nsd, "mode=1777,size=65536k", 0);
  if (mount("mqueue", "/dev/mqueue", "mqueue", nsd, NULL) != 0) rmdir("/dev/mqueue");

  if (sys_fd >= 0 && attach(sys_fd, "/sys") != 0) SOFT("attach /sys: %s", strerror(errno));

  /* runc's masked and read-only /proc paths */
  static const char *masked[] = {"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                 "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                                 "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"};
  for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
    struct stat st;
    if (stat(masked[i], &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) mount("tmpfs", masked[i], "tmpfs", MS_RDONLY, "size=0k");
    else mount("/dev/null", masked[i], NULL, MS_BIND, NULL);
  }
  static const char *ro[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
    int fd = detached_bind(ro[i], 1, 1);
    if (fd < 0) continue;
    if (attach(fd, ro[i])) {}
    close(fd);
  }

  if (hosts_fd >= 0 && attach(hosts_fd, "/etc/hosts") != 0) SOFT("attach /etc/hosts: %s", strerror(errno));
  if (resolv_fd >= 0 && attach(resolv_fd, "/etc/resolv.conf") != 0) SOFT("attach /etc/resolv.conf: %s", strerror(errno));

  for (int i = 0; i < cfg.nmounts; i++) {
    struct mnt *m = &cfg.mounts[i];
    if (!strcmp(m->type, "bind")) {
      if (attach(m->fd, m->dst) != 0) FAIL("mount %s on %s: %s", m->src, m->dst, strerror(errno));
    } else if (!strcmp(m->type, "tmpfs")) {
      if (mount("tmpfs", m->dst, "tmpfs", MS_NOSUID | MS_NODEV | (m->ro ? MS_RDONLY : 0), m->opts[0] ? m->opts : NULL) != 0)
        FAIL("mount tmpfs on %s: %s", m->dst, strerror(errno));
    } else {
      FAIL("unsupported mount type %s", m->type);
    }
  }
}

static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) { WARN("socket: %s", strerror(errno)); return; }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) WARN("bring up lo: %s", strerror(errno));
  }
  close(s);
}

/* --------------------------------------------------------- the command (G) */

static void install_seccomp(void);

static void exec_command(void) {
  setsid();
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);

  if (chdir(cfg.cwd) != 0) FAIL("chdir %s: %s", cfg.cwd, strerror(errno));

  /* On the host's network a step must not get raw or packet sockets (sniffing or spoofing host
   * traffic; podman's default set drops NET_RAW for the same reason); in its own network namespace
   * NET_RAW only reaches its own loopback, so ping keeps working there. */
  uint64_t caps = DEFAULT_CAPS;
  if (cfg.net == NET_HOST) caps &= ~(1ULL << CAP_NET_RAW);
  /* Under a bare chroot(2) the host's root is still reachable by a second chroot: no CAP_SYS_CHROOT. */
  if (entered_by_chroot) caps &= ~(1ULL << CAP_SYS_CHROOT);

  /* bounding set first (needs CAP_SETPCAP), then ambient */
  for (int c = 0; c <= 63; c++) {
    if (caps & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno == EINVAL) break; /* past cap_last_cap */
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

  if (!setgroups_denied) {
    if (setgroups(cfg.ngroups, cfg.groups) != 0) {
      if (cfg.ngroups || !is_chroot_mode()) SOFT("setgroups: %s", strerror(errno));
    }
  } else if (cfg.ngroups) {
    WARN("additional groups ignored: setgroups is denied in a single-id user namespace");
  }
  if (setresgid(cfg.gid, cfg.gid, cfg.gid) != 0) FAIL("setgid %u: %s", cfg.gid, strerror(errno));
  if (setresuid(cfg.uid, cfg.uid, cfg.uid) != 0) FAIL("setuid %u: %s", cfg.uid, strerror(errno));

  /* root keeps the default set in effective+permitted; others get none
   * (Docker semantics); inheritable is always empty (CVE-2022-24769). */
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (cfg.uid == 0) {
    data[0].effective = data[0].permitted = (uint32_t)caps;
    data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
  }
  if (syscall(SYS_capset, &hdr, data) != 0) SOFT("capset: %s", strerror(errno));

  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FAIL("no_new_privs: %s", strerror(errno));
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (!cfg.no_seccomp) install_seccomp();

  /* stdin is /dev/null (from node); close everything but 0,1,2 and the
   * status fd, which is close-on-exec */
  syscall(SYS_close_range, 4, ~0U, 0);

  const char *file = cfg.args[0];
  if (strchr(file, '/')) {
    execve(file, cfg.args, cfg.env);
    int e = errno;
    status("error", "exec %s: %s", file, strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  const char *path = NULL;
  for (int i = 0; i < cfg.nenv; i++)
    if (!strncmp(cfg.env[i], "PATH=", 5)) path = cfg.env[i] + 5;
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  int saw_eacces = 0;
  char buf[4096];
  for (const char *p = path;;) {
    const char *end = strchrnul(p, ':');
    int n = (int)(end - p);
    snprintf(buf, sizeof buf, "%.*s%s%s", n, p, n ? "/" : "", file);
    execve(buf, cfg.args, cfg.env);
    if (errno == EACCES) saw_eacces = 1;
    else if (errno != ENOENT && errno != ENOTDIR) break;
    if (!*end) break;
    p = end + 1;
  }
  if (saw_eacces) { status("error", "exec %s: permission denied", file); _exit(126); }
  status("error", "exec %s: executable file not found in $PATH", file);
  _exit(127);
}

/* ------------------------------------------------ container init (C) */

static void cleanup_created(void) {
  /* plain-dir rootfs: remove the mount points we created, if still empty */
  for (int i = ncreated - 1; i >= 0; i--) {
    const char *p = created[i];
    if (unlinkat(AT_FDCWD, p, AT_REMOVEDIR) == 0) continue;
    struct stat st;
    if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) unlink(p);
  }
}

static int container_init(int syncfd) {
  char c;
  if (read(syncfd, &c, 1) != 1) _exit(125); /* parent died or failed */
  close(syncfd);
  setgroups_denied = c == 'd';
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  if (clone_flags & CLONE_NEWUSER) {
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) FAIL("become root in user namespace: %s", strerror(errno));
  }
  if ((clone_flags & CLONE_NEWUTS) && cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) != 0)
    SOFT("sethostname: %s", strerror(errno));
  if (clone_flags & CLONE_NEWNET) lo_up();

  int have_ns = clone_flags & CLONE_NEWNS;
  if (have_ns && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    FAIL("make mounts private: %s", strerror(errno));
  if (!have_ns && !cfg.dir) FAIL("overlay rootfs needs a mount namespace");

  char *root = prepare_rootfs();
  if (have_ns) prepare_binds();

  if (chdir(root) != 0) FAIL("chdir %s: %s", root, strerror(errno));
  /* With a mount namespace every mode pivots (runc's trick: no put_old directory needed) and
   * detaches the old root. chroot mode did chroot(2) here, which left the host's root in the
   * namespace: a step holding CAP_SYS_CHROOT walked out (chroot into a subdir, chdir "..", chroot
   * "."). chroot(2) stays the fallback of chroot mode only (no mount namespace, or pivot_root
   * refused), and then the step loses CAP_SYS_CHROOT (see exec_command). */
  int pivoted = 0;
  if (have_ns) {
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
      if (umount2(".", MNT_DETACH) != 0) FAIL("detach old root: %s", strerror(errno));
      pivoted = 1;
    } else if (!is_chroot_mode()) {
      FAIL("pivot_root %s: %s", root, strerror(errno));
    } else {
      WARN("pivot_root %s: %s; using chroot", root, strerror(errno));
    }
  }
  if (!pivoted) {
    if (chroot(".") != 0) FAIL("chroot %s: %s", root, strerror(errno));
    entered_by_chroot = 1;
  }
  if (chdir("/") != 0) FAIL("chdir /: %s", strerror(errno));
  if (have_ns) mount_inside();
  else WARN("no mount namespace: /proc, /dev, /sys and extra mounts are not set up");

  /* cwd: mkdir -p (as root, 0755) if missing, like buildah; persists in the layer */
  if (mkdir_p(cfg.cwd, 0755) != 0) FAIL("create working directory %s: %s", cfg.cwd, strerror(errno));

  int is_init = (clone_flags & CLONE_NEWPID) != 0;
  if (!is_init) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  pid_t g = fork();
  if (g < 0) FAIL("fork: %s", strerror(errno));
  if (g == 0) exec_command();

  int st = 0;
  for (;;) {
    int s;
    pid_t p = waitpid(-1, &s, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      FAIL("wait: %s", strerror(errno));
    }
    if (p == g) { st = s; break; }
  }
  /* kill and reap whatever the command left behind */
  if (is_init) kill(-1, SIGKILL);
  else kill(-g, SIGKILL);
  while (waitpid(-1, NULL, is_init ? 0 : WNOHANG) > 0) {}

  if (rootfd_is_dir_mode && ncreated) {
    if (have_ns) {
      /* our mounts sit on the created mount points: detach them first */
      umount2("/proc", MNT_DETACH); umount2("/sys", MNT_DETACH); umount2("/dev", MNT_DETACH);
      umount2("/etc/hosts", MNT_DETACH); umount2("/etc/resolv.conf", MNT_DETACH);
      for (int i = cfg.nmounts - 1; i >= 0; i--) umount2(cfg.mounts[i].dst, MNT_DETACH);
    }
    if (chdir("/")) {}
    cleanup_created();
  }

  if (WIFSIGNALED(st)) {
    status("signal", "%d", WTERMSIG(st));
    _exit(128 + WTERMSIG(st));
  }
  status("exit", "%d", WEXITSTATUS(st));
  _exit(WEXITSTATUS(st));
}

/* -------------------------------------------------------------- seccomp */

/* What the default seccomp profiles of Docker and containers/common (buildah, podman) refuse a
 * container without CAP_SYS_ADMIN, as a deny list with EPERM: kernel surface a build step has no
 * use for and escapes have come through. Most also need a capability the step lacks; the filter
 * holds where a capability check does not (the keyring is not namespaced; user namespaces, bpf,
 * userfaultfd and io_uring need no capability) and if a capability check has a bug. */
static const char *const DENIED_SYSCALLS[] = {
    "keyctl", "add_key", "request_key",                        /* the keyring is host-wide */
    "setns", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at",                                       /* reads host files by handle */
    "mount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
    "open_tree", "mount_setattr",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "iopl", "ioperm", "swapon", "swapoff", "reboot", "acct", "settimeofday", "clock_settime",
    "clock_adjtime", "quotactl", "syslog", "vhangup", "lookup_dcookie", "uselib", "ustat", "sysfs",
};

/* New namespaces (a user namespace gives its creator every capability inside it). CLONE_NEWTIME
 * only for unshare: in clone()'s flags that bit belongs to the exit signal. */
static const uint64_t NAMESPACE_FLAGS[] = {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                           CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP};
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static void deny(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned nargs, struct scmp_arg_cmp arg) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return; /* older libseccomp: a syscall it does not know */
  int rc = nargs ? seccomp_rule_add(ctx, action, nr, 1, arg) : seccomp_rule_add(ctx, action, nr, 0);
  if (rc < 0) FAIL("seccomp rule for %s: %s", name, strerror(-rc));
}

/* Installed last before execve (after no_new_privs, so no capability is needed to install it);
 * the filter stays with the command and everything it starts. */
static void install_seccomp(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) FAIL("seccomp: cannot create a filter");
  /* The 32-bit ABI too, or a 32-bit binary would reach the same calls under other numbers. */
#if defined(__x86_64__)
  int rc = seccomp_arch_add(ctx, SCMP_ARCH_X86);
  if (rc < 0 && rc != -EEXIST) FAIL("seccomp: add x86: %s", strerror(-rc));
#elif defined(__aarch64__)
  int rc = seccomp_arch_add(ctx, SCMP_ARCH_ARM);
  if (rc < 0 && rc != -EEXIST) FAIL("seccomp: add arm: %s", strerror(-rc));
#endif
  struct scmp_arg_cmp none = {0};
  for (size_t i = 0; i < sizeof DENIED_SYSCALLS / sizeof *DENIED_SYSCALLS; i++)
    deny(ctx, SCMP_ACT_ERRNO(EPERM), DENIED_SYSCALLS[i], 0, none);
  for (size_t i = 0; i < sizeof NAMESPACE_FLAGS / sizeof *NAMESPACE_FLAGS; i++) {
    uint64_t f = NAMESPACE_FLAGS[i];
    deny(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
    deny(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
  }
  deny(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWTIME, CLONE_NEWTIME));
  /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone. */
  deny(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, none);
  int lr = seccomp_load(ctx);
  seccomp_release(ctx);
  if (lr < 0) FAIL("seccomp: cannot install the filter (%s); --security-opt seccomp=unconfined runs without it", strerror(-lr));
}

/* ---------------------------------------------------------------- probe */

static int probe_child(int syncfd) {
  char c;
  if (read(syncfd, &c, 1) != 1) _exit(125);
  if (clone_flags & CLONE_NEWUSER) {
    if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) FAIL("become root in user namespace: %s", strerror(errno));
  }
  if (cfg.mode == MODE_CHROOT) {
    if (chroot(cfg.dir) != 0) FAIL("chroot: %s", strerror(errno));
    _exit(0);
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) FAIL("make mounts private: %s", strerror(errno));
  if (mount("tmpfs", cfg.dir, "tmpfs", 0, "mode=755") != 0) FAIL("mount tmpfs: %s", strerror(errno));
  const char *dirs[] = {"l", "u", "w", "m", "p"};
  for (int i = 0; i < 5; i++) {
    char *p = join_path(cfg.dir, dirs[i]);
    if (mkdir(p, 0755) != 0) FAIL("mkdir: %s", strerror(errno));
  }
  char opts[4096];
  snprintf(opts, sizeof opts, "lowerdir=%s/l,upperdir=%s/u,workdir=%s/w%s", cfg.dir, cfg.dir, cfg.dir,
           cfg.mode == MODE_ROOTLESS ? ",userxattr" : "");
  char *m = join_path(cfg.dir, "m");
  if (mount("overlay", m, "overlay", 0, opts) != 0) FAIL("mount overlay: %s", strerror(errno));
  char *p = join_path(cfg.dir, "p");
  if (mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) FAIL("mount proc: %s", strerror(errno));
  if (syscall(SYS_pivot_root, m, m) != 0 && errno != EBUSY && errno != EINVAL) {}
  _exit(0);
}

/* ------------------------------------------------------------- helper (H) */

static void on_signal(int sig) {
  got_signal = sig;
  if (child_pid > 0) kill(child_pid, SIGKILL);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)st; (void)ftw;
  if (type == FTW_DP || type == FTW_D) rmdir(path);
  else unlink(path);
  return 0;
}

static int chmodded;

static int chmod_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type == FTW_D && (st->st_mode & 0700) != 0700 && chmod(path, (st->st_mode & 07777) | 0700) == 0) chmodded++;
  if (type == FTW_DNR && chmod(path, 0700) == 0) chmodded++;
  return 0;
}

static void remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  /* Unprivileged, a 000 dir is only entered after a pass opened it: overlay's work dir nests
   * several (work/incompat/volatile), so pass again until one changes nothing. */
  for (int pass = 0; pass < 16; pass++) {
    chmodded = 0;
    nftw(path, chmod_entry, 16, FTW_PHYS | FTW_MOUNT);
    if (chmodded == 0) break;
  }
  nftw(path, rm_entry, 16, FTW_PHYS | FTW_DEPTH | FTW_MOUNT);
}

int main(int argc, char **argv) {
  if (fcntl(STATUS_FD, F_GETFD) < 0) {
    /* not started by node: send status to stderr */
    dup2(2, STATUS_FD);
  }
  fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC);
  parse_args(argc, argv);

  /* The builder dying must end the step: SIGTERM lets us clean up. */
  prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
  if (getppid() == 1) FAIL("parent exited");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  int want = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
  if (cfg.net != NET_HOST) want |= CLONE_NEWNET;
  int need_user = cfg.mode == MODE_ROOTLESS || (cfg.mode == MODE_CHROOT && geteuid() != 0);
  if (need_user) want |= CLONE_NEWUSER;
  if (need_user && cfg.nuidmap == 0) {
    cfg.uidmap[0] = (struct idmap){0, geteuid(), 1}; cfg.nuidmap = 1;
    cfg.gidmap[0] = (struct idmap){0, getegid(), 1}; cfg.ngidmap = 1;
  }

  char probedir[] = "/tmp/tsbuild-probe-XXXXXX";
  if (cfg.probe) {
    if (!mkdtemp(probedir)) FAIL("mkdtemp: %s", strerror(errno));
    cfg.dir = probedir;
  }

  int sp[2];
  if (pipe2(sp, O_CLOEXEC) != 0) FAIL("pipe: %s", strerror(errno));

  /* try the full set; chroot mode degrades step by step */
  int attempts[4], nattempts = 0;
  attempts[nattempts++] = want;
  if (cfg.mode == MODE_CHROOT) {
    attempts[nattempts++] = want & ~CLONE_NEWNET;
    attempts[nattempts++] = want & CLONE_NEWUSER;
    attempts[nattempts++] = 0;
  }
  pid_t pid = -1;
  int err = 0;
  for (int i = 0; i < nattempts; i++) {
    clone_flags = attempts[i];
    if (!(clone_flags & CLONE_NEWUSER)) { cfg.nuidmap = 0; }
    pid = (pid_t)syscall(SYS_clone, (unsigned long)clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid >= 0) break;
    err = errno;
  }
  if (pid < 0) {
    if (cfg.probe) rmdir(probedir);
    FAIL("clone: %s (namespaces not permitted)", strerror(err));
  }
  if (pid == 0) {
    close(sp[1]);
    if (cfg.probe) return probe_child(sp[0]);
    return container_init(sp[0]);
  }
  child_pid = pid;
  close(sp[0]);
  if (got_signal) kill(pid, SIGKILL);
  if (clone_flags != want) {
    const char *missing[8];
    int n = 0;
    int lost = want & ~clone_flags;
    if (lost & CLONE_NEWUSER) missing[n++] = "user";
    if (lost & CLONE_NEWNS) missing[n++] = "mount";
    if (lost & CLONE_NEWPID) missing[n++] = "pid";
    if (lost & CLONE_NEWNET) missing[n++] = "network";
    if (lost & (CLONE_NEWUTS | CLONE_NEWIPC)) missing[n++] = "uts/ipc";
    char buf[128] = "";
    for (int i = 0; i < n; i++) { strcat(buf, i ? ", " : ""); strcat(buf, missing[i]); }
    WARN("namespaces not permitted (%s): %s", buf, strerror(err));
  }
  if (clone_flags & CLONE_NEWUSER) {
    /* write maps; a failure must not leave the child waiting forever */
    pid_t me = fork();
    if (me == 0) { write_maps(pid); _exit(0); }
    int st;
    while (waitpid(me, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
      if (cfg.probe) rmdir(probedir);
      _exit(125);
    }
    if (!cfg.use_newidmap && geteuid() != 0) setgroups_denied = 1;
  }
  /* the child was cloned before the maps existed: pass the setgroups state with the go byte */
  char go = setgroups_denied ? 'd' : 'a';
  if (write(sp[1], &go, 1) != 1) {}
  close(sp[1]);

  int st = 0;
  for (;;) {
    pid_t p = waitpid(pid, &st, 0);
    if (p == pid) break;
    if (p < 0 && errno != EINTR) FAIL("wait: %s", strerror(errno));
  }

  if (cfg.probe) {
    rmdir(probedir);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 125;
  }
  if (!cfg.dir) {
    const char *sub[] = {"iu", "iw", "im", "w", "m"};
    for (int i = 0; i < 5; i++) {
      char *p = join_path(cfg.work, sub[i]);
      remove_tree(p);
      free(p);
    }
  }
  if (got_signal) {
    status("signal", "%d", SIGKILL);
    return 128 + SIGKILL;
  }
  if (WIFSIGNALED(st)) {
    status("signal", "%d", WTERMSIG(st));
    return 128 + WTERMSIG(st);
  }
  return WEXITSTATUS(st);
}
