// tsbuild native addon: filesystem primitives Node lacks (mknod, l*xattr), and a batched lstat.
// Every call is a thin, synchronous syscall wrapper; errors become Node-style
// errors with `code` (e.g. 'ENOENT'), `errno` (negative, like libuv), `syscall`
// and `path`.
#include <napi.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>

namespace {

const char* ErrnoName(int e) {
  switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK)
    E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL)
    E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE)
    E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(ENAMETOOLONG) E(ENOSYS)
    E(ENOTEMPTY) E(ELOOP) E(ENODATA) E(EOVERFLOW) E(EOPNOTSUPP) E(EDQUOT)
#undef E
    default: return nullptr;
  }
}

Napi::Error MakeErrno(Napi::Env env, int e, const char* syscall, const std::string& path) {
  const char* name = ErrnoName(e);
  std::string code = name ? name : ("E" + std::to_string(e));
  std::string msg = code + ": " + std::strerror(e) + ", " + syscall + " '" + path + "'";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("code", Napi::String::New(env, code));
  err.Set("syscall", Napi::String::New(env, syscall));
  err.Set("path", Napi::String::New(env, path));
  return err;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* what, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a string").ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must not contain NUL bytes").ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgUint(const Napi::CallbackInfo& info, size_t i, const char* what, uint32_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string(what) + " must be a number").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    Napi::RangeError::New(info.Env(), std::string(what) + " must be an unsigned 32-bit integer").ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint32_t>(d);
  return true;
}

// mknod(path, mode, major, minor)
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  uint32_t mode, major, minor;
  if (!ArgString(info, 0, "path", &path) || !ArgUint(info, 1, "mode", &mode) ||
      !ArgUint(info, 2, "major", &major) || !ArgUint(info, 3, "minor", &minor))
    return env.Undefined();
  if (::mknod(path.c_str(), static_cast<mode_t>(mode), makedev(major, minor)) != 0) {
    MakeErrno(env, errno, "mknod", path).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// lgetxattr(path, name) -> Buffer | undefined (ENODATA)
Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!ArgString(info, 0, "path", &path) || !ArgString(info, 1, "name", &name)) return env.Undefined();
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) return Napi::Buffer<char>::Copy(env, buf.data(), static_cast<size_t>(n));
    if (errno == ENODATA) return env.Undefined();
    if (errno != ERANGE) {
      MakeErrno(env, errno, "lgetxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ssize_t need = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (need < 0) {
      if (errno == ENODATA) return env.Undefined();
      MakeErrno(env, errno, "lgetxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    buf.resize(static_cast<size_t>(need) + 1);
  }
}

// lsetxattr(path, name, value)
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!ArgString(info, 0, "path", &path) || !ArgString(info, 1, "name", &name)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsBuffer()) {
    Napi::TypeError::New(env, "value must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto value = info[2].As<Napi::Buffer<char>>();
  if (::lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) != 0) {
    MakeErrno(env, errno, "lsetxattr", path).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// llistxattr(path) -> string[]
Napi::Value Llistxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "path", &path)) return env.Undefined();
  std::vector<char> buf(1024);
  ssize_t n;
  for (;;) {
    n = ::llistxattr(path.c_str(), buf.data(), buf.size());
    if (n >= 0) break;
    if (errno != ERANGE) {
      MakeErrno(env, errno, "llistxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ssize_t need = ::llistxattr(path.c_str(), nullptr, 0);
    if (need < 0) {
      MakeErrno(env, errno, "llistxattr", path).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    buf.resize(static_cast<size_t>(need) + 1);
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t idx = 0;
  for (ssize_t i = 0; i < n;) {
    size_t len = strnlen(buf.data() + i, static_cast<size_t>(n - i));
    if (len > 0) out.Set(idx++, Napi::String::New(env, buf.data() + i, len));
    i += static_cast<ssize_t>(len) + 1;
  }
  return out;
}

// lremovexattr(path, name)
Napi::Value Lremovexattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path, name;
  if (!ArgString(info, 0, "path", &path) || !ArgString(info, 1, "name", &name)) return env.Undefined();
  if (::lremovexattr(path.c_str(), name.c_str()) != 0) {
    MakeErrno(env, errno, "lremovexattr", path).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

// lstatAt(dir, names) -> Float64Array of LSTAT_FIELDS numbers per name, in order: mode, size,
// mtimeMs, ctimeMs, ino, rdev, nlink, dev (the times computed as Node's Stats computes them, so a
// stat cache filled by either agrees). mode -1: the name is gone (ENOENT, ENOTDIR, ENAMETOOLONG).
// One fstatat per name relative to one open directory: what a context walk needs for every entry
// of a directory, without a Stats object per file.
constexpr size_t LSTAT_FIELDS = 8;

Napi::Value LstatAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir;
  if (!ArgString(info, 0, "dir", &dir)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsArray()) {
    Napi::TypeError::New(env, "names must be an array of strings").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array names = info[1].As<Napi::Array>();
  const uint32_t n = names.Length();
  std::vector<std::string> list;
  list.reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value v = names.Get(i);
    if (!v.IsString()) {
      Napi::TypeError::New(env, "names must be an array of strings").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    std::string name = v.As<Napi::String>().Utf8Value();
    // A bare name: never a path that could leave the directory, never empty or NUL-carrying.
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
      Napi::TypeError::New(env, "names must be plain file names").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    list.push_back(std::move(name));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    MakeErrno(env, errno, "open", dir).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(n) * LSTAT_FIELDS);
  double* f = out.Data();
  for (uint32_t i = 0; i < n; i++, f += LSTAT_FIELDS) {
    struct stat st;
    if (::fstatat(dfd, list[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      int e = errno;
      if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG) {
        f[0] = -1;
        for (size_t k = 1; k < LSTAT_FIELDS; k++) f[k] = 0;
        continue;
      }
      ::close(dfd);
      MakeErrno(env, e, "lstat", dir + "/" + list[i]).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    f[0] = static_cast<double>(st.st_mode);
    f[1] = static_cast<double>(st.st_size);
    f[2] = static_cast<double>(st.st_mtim.tv_sec) * 1000 + static_cast<double>(st.st_mtim.tv_nsec) / 1e6;
    f[3] = static_cast<double>(st.st_ctim.tv_sec) * 1000 + static_cast<double>(st.st_ctim.tv_nsec) / 1e6;
    f[4] = static_cast<double>(st.st_ino);
    f[5] = static_cast<double>(st.st_rdev);
    f[6] = static_cast<double>(st.st_nlink);
    f[7] = static_cast<double>(st.st_dev);
  }
  ::close(dfd);
  return out;
}

// hashFiles(paths, callback): the sha256 of each file, read to its end on a libuv pool thread, as
// "sha256:<hex>", or "!<errno name>" when it could not be read (the caller reads that one itself to
// report it). A context's files hashed in a few such batches use the machine's cores instead of the
// event loop's one (OpenSSL's EVP from the node binary: SHA-NI where the CPU has it).
class HashFilesWorker : public Napi::AsyncWorker {
 public:
  HashFilesWorker(Napi::Function& cb, std::vector<std::string> paths)
      : Napi::AsyncWorker(cb, "tsbuild:hashFiles"), paths_(std::move(paths)), out_(paths_.size()) {}

  void Execute() override {
    std::vector<unsigned char> buf(256 * 1024);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx) {
      SetError("EVP_MD_CTX_new failed");
      return;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < paths_.size(); i++) {
      // O_NONBLOCK: a file swapped for a FIFO after its lstat must not hang the build in open().
      int fd = ::open(paths_[i].c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        out_[i] = std::string("!") + ErrnoName(errno);
        continue;
      }
      bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
      for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          out_[i] = std::string("!") + ErrnoName(errno);
          ok = false;
          break;
        }
        if (n == 0) break;
        if (ok) ok = EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n)) == 1;
      }
      ::close(fd);
      unsigned char md[EVP_MAX_MD_SIZE];
      unsigned int len = 0;
      if (!ok || EVP_DigestFinal_ex(ctx, md, &len) != 1) {
        if (out_[i].empty()) out_[i] = "!EIO";
        continue;
      }
      std::string d = "sha256:";
      d.reserve(7 + 2 * len);
      for (unsigned int k = 0; k < len; k++) {
        d += hex[md[k] >> 4];
        d += hex[md[k] & 15];
      }
      out_[i] = std::move(d);
    }
    EVP_MD_CTX_free(ctx);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array arr = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::String::New(env, out_[i]));
    Callback().Call({env.Null(), arr});
  }

 private:
  static const char* ErrnoName(int e) {
    switch (e) {
      case ENOENT: return "ENOENT";
      case EACCES: return "EACCES";
      case EPERM: return "EPERM";
      case ENOTDIR: return "ENOTDIR";
      case EISDIR: return "EISDIR";
      case ELOOP: return "ELOOP";
      case EAGAIN: return "EAGAIN";
      case ENXIO: return "ENXIO";
      default: return "EIO";
    }
  }
  std::vector<std::string> paths_;
  std::vector<std::string> out_;
};

Napi::Value HashFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "hashFiles(paths: string[], callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<std::string> paths;
  paths.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) paths.push_back(list.Get(i).As<Napi::String>().Utf8Value());
  Napi::Function cb = info[1].As<Napi::Function>();
  (new HashFilesWorker(cb, std::move(paths)))->Queue();
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("lstatAt", Napi::Function::New(env, LstatAt, "lstatAt"));
  exports.Set("hashFiles", Napi::Function::New(env, HashFiles, "hashFiles"));
  exports.Set("mknod", Napi::Function::New(env, Mknod, "mknod"));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr, "lgetxattr"));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr, "lsetxattr"));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr, "llistxattr"));
  exports.Set("lremovexattr", Napi::Function::New(env, Lremovexattr, "lremovexattr"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tsbuild_native, Init)
