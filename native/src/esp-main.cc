// tsswarm-esp: the encrypted overlay's ESP data path, for kernels without ESP (no CONFIG_INET_ESP /
// gcm(aes), no modules), where xfrm cannot encrypt.
//
//   tsswarm-esp --tun NAME --local ADDR --socket PATH [--pid-file PATH]
//
// The agent (agent/network/encryption/) routes the VXLAN datagrams of encrypted networks into the
// TUN device NAME (an nft mark and a policy route); this process reads each one, seals its UDP
// payload as ESP in transport mode (esp-sa.h) and sends it from ADDR to the same destination over
// a raw IPPROTO_ESP socket, so the wire carries ordinary ESP between the two hosts' underlay
// addresses. ESP arriving for ADDR is opened and written back into the TUN device as the UDP
// datagram it was, where the kernel hands it to the VXLAN device (and the agent's nft rules accept
// plaintext VXLAN of an encrypted network only from this device).
//
// The SAs come over the unix socket PATH (mode 0600) as lines, a whole set at a time:
//   begin | out DST SPI KEY | in SRC SPI KEY | commit      → "ok OUT IN" or "error ..."
//   stats → "stats tx=... ..."   info → "info local=ADDR tun=NAME pid=N"   exit → "bye", then exits
// (SPI in hex, KEY 40 hex digits: AES-128 key and salt.) Keys never appear in argv. An SA given again
// with the same SPI and key keeps its sequence number and replay window, so a rotation or a new
// peer does not disturb the others. The process outlives the agent (it is started detached), so
// an agent restart does not stop encrypted traffic; `exit` or SIGTERM ends it.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "esp-sa.h"
#include "fd.h"

using namespace tsswarm;

namespace {

constexpr uint16_t kVxlanPort = 4789;
constexpr uint8_t kProtoUdp = 17;
constexpr size_t kBuf = 65536 + 64;
constexpr int kBurst = 64;
// One datagram of a batch: a VXLAN datagram of an MTU-sized frame, or an ESP packet the kernel
// reassembled, fits (a larger one, from a misconfigured MTU, is dropped as truncated).
constexpr size_t kSlot = 9216;

volatile sig_atomic_t gStop = 0;

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "tsswarm-esp: %s\n", what.c_str());
  exit(1);
}

std::string Errno(const char* what) { return std::string(what) + ": " + strerror(errno); }

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

uint16_t Checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += uint32_t(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(~sum);
}

bool ParseHex(const std::string& s, uint8_t* out, size_t n) {
  if (s.size() != n * 2) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned v = 0;
    if (sscanf(s.c_str() + 2 * i, "%2x", &v) != 1) return false;
    out[i] = uint8_t(v);
  }
  return true;
}

struct Key {
  uint8_t bytes[esp::kKeyLen + esp::kSaltLen];
  bool operator==(const Key& o) const { return memcmp(bytes, o.bytes, sizeof bytes) == 0; }
};

struct Out {
  Key key;
  esp::OutboundSa sa;
};

struct In {
  Key key;
  esp::InboundSa sa;
};

struct Stats {
  uint64_t tx = 0, txNoSa = 0, txBad = 0, txErr = 0;
  uint64_t rx = 0, rxNoSa = 0, rxReplay = 0, rxAuth = 0, rxBad = 0, rxErr = 0;
};

class Helper {
 public:
  Helper(std::string tun, uint32_t local, std::string socketPath) : tunName_(std::move(tun)), local_(local), socketPath_(std::move(socketPath)) {}

  void Setup() {
    tun_.reset(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!tun_.valid()) Die(Errno("open /dev/net/tun"));
    ifreq ifr{};
    // IFF_NAPI: what this process writes goes through GRO, so the VXLAN device gets the opened
    // datagrams of a TCP stream coalesced, as it would from a network card.
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_NAPI;
    if (tunName_.size() >= IFNAMSIZ) Die("tun name too long");
    memcpy(ifr.ifr_name, tunName_.c_str(), tunName_.size());
    if (ioctl(tun_.get(), TUNSETIFF, &ifr) != 0) Die(Errno(("TUNSETIFF " + tunName_).c_str()));

    raw_.reset(socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ESP));
    if (!raw_.valid()) Die(Errno("raw ESP socket"));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = local_;
    // Bound to the underlay address: ESP leaves from it and only ESP sent to it is read.
    if (bind(raw_.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) Die(Errno("bind raw socket"));
    // An ESP packet larger than the path is fragmented by the kernel (and reassembled before the
    // peer's raw socket sees it), never refused.
    int pmtu = IP_PMTUDISC_DONT;
    setsockopt(raw_.get(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    int buf = 4 << 20;
    setsockopt(raw_.get(), SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(raw_.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);

    listen_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listen_.valid()) Die(Errno("unix socket"));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (socketPath_.size() >= sizeof sun.sun_path) Die("socket path too long");
    memcpy(sun.sun_path, socketPath_.c_str(), socketPath_.size());
    unlink(socketPath_.c_str());
    // Created 0600 (umask), since SAs carry keys: only root talks to it.
    mode_t old = umask(0177);
    int rc = bind(listen_.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun);
    umask(old);
    if (rc != 0) Die(Errno(("bind " + socketPath_).c_str()));
    if (listen(listen_.get(), 4) != 0) Die(Errno("listen"));

    epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_.valid()) Die(Errno("epoll"));
    Watch(tun_.get());
    Watch(raw_.get());
    Watch(listen_.get());
  }

  int Run() {
    epoll_event events[8];
    while (!gStop) {
      int n = epoll_wait(epoll_.get(), events, 8, 1000);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die(Errno("epoll_wait"));
      }
      for (int i = 0; i < n; i++) {
        int fd = events[i].data.fd;
        if (fd == tun_.get()) FromTun();
        else if (fd == raw_.get()) FromWire();
        else if (fd == listen_.get()) Accept();
        else if (fd == client_.get()) FromClient();
        if (exiting_) return Finish();
      }
    }
    return Finish();
  }

 private:
  void Watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) Die(Errno("epoll_ctl"));
  }

  int Finish() {
    unlink(socketPath_.c_str());
    return 0;
  }

  // Plaintext VXLAN datagrams the kernel routed here: seal each and send them as ESP, a batch per
  // sendmmsg.
  void FromTun() {
    int queued = 0;
    for (int i = 0; i < kBurst; i++) {
      ssize_t n = read(tun_.get(), in_, kSlot);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) stats_.txErr++;
        break;
      }
      if (size_t(n) < 20 || (in_[0] >> 4) != 4) {
        stats_.txBad++;
        continue;
      }
      const size_t ihl = size_t(in_[0] & 0x0f) * 4;
      const size_t total = (size_t(in_[2]) << 8) | in_[3];
      const uint16_t frag = uint16_t((in_[6] << 8) | in_[7]);
      // Only whole UDP datagrams: the routes bring nothing else here (VXLAN does not set DF but the
      // device's MTU leaves room, so the kernel does not fragment before this point).
      if (ihl < 20 || total > size_t(n) || total < ihl + 8 || in_[9] != kProtoUdp || (frag & 0x3fff) != 0) {
        stats_.txBad++;
        continue;
      }
      uint32_t dst;
      memcpy(&dst, in_ + 16, 4);
      auto it = out_.find(dst);
      if (it == out_.end()) {
        // No key for that host yet (or any more): dropped, never sent in the clear.
        stats_.txNoSa++;
        continue;
      }
      uint8_t* slot = txSlots_ + size_t(queued) * (kSlot + esp::kMaxOverhead);
      size_t len = esp::Seal(it->second->sa, kProtoUdp, in_ + ihl, total - ihl, slot);
      if (len == 0) {
        stats_.txErr++;
        continue;
      }
      txTo_[queued] = sockaddr_in{};
      txTo_[queued].sin_family = AF_INET;
      txTo_[queued].sin_addr.s_addr = dst;
      txIov_[queued] = iovec{slot, len};
      txMsg_[queued] = mmsghdr{};
      txMsg_[queued].msg_hdr.msg_name = &txTo_[queued];
      txMsg_[queued].msg_hdr.msg_namelen = sizeof txTo_[queued];
      txMsg_[queued].msg_hdr.msg_iov = &txIov_[queued];
      txMsg_[queued].msg_hdr.msg_iovlen = 1;
      queued++;
    }
    for (int done = 0; done < queued;) {
      int sent = sendmmsg(raw_.get(), txMsg_ + done, unsigned(queued - done), 0);
      if (sent <= 0) {
        // The one that failed (no buffer space, no route) is dropped; the rest go on.
        stats_.txErr++;
        done++;
        continue;
      }
      stats_.tx += uint64_t(sent);
      done += sent;
    }
  }

  // ESP for this host, a batch per recvmmsg: open each and hand the UDP datagram to the kernel
  // through the TUN device.
  void FromWire() {
    for (int i = 0; i < kBurst; i++) {
      rxIov_[i] = iovec{rxSlots_ + size_t(i) * kSlot, kSlot};
      rxMsg_[i] = mmsghdr{};
      rxMsg_[i].msg_hdr.msg_iov = &rxIov_[i];
      rxMsg_[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(raw_.get(), rxMsg_, kBurst, MSG_DONTWAIT, nullptr);
    if (got < 0) {
      if (errno != EAGAIN && errno != EINTR) stats_.rxErr++;
      return;
    }
    for (int i = 0; i < got; i++) {
      uint8_t* pkt = rxSlots_ + size_t(i) * kSlot;
      const ssize_t n = ssize_t(rxMsg_[i].msg_len);
      if ((rxMsg_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || size_t(n) < 20 || (pkt[0] >> 4) != 4) {
        stats_.rxBad++;
        continue;
      }
      const size_t ihl = size_t(pkt[0] & 0x0f) * 4;
      const size_t total = (size_t(pkt[2]) << 8) | pkt[3];
      if (ihl < 20 || total > size_t(n) || total < ihl + esp::kHeaderLen) {
        stats_.rxBad++;
        continue;
      }
      uint8_t* espData = pkt + ihl;
      const uint32_t spi = esp::SpiOf(espData);
      auto it = in_sa_.find(spi);
      uint32_t src;
      memcpy(&src, pkt + 12, 4);
      if (it == in_sa_.end() || it->second->sa.src != src) {
        stats_.rxNoSa++;
        continue;
      }
      uint8_t* payload = nullptr;
      size_t len = 0;
      uint8_t next = 0;
      switch (esp::Open(it->second->sa, espData, total - ihl, &payload, &len, &next)) {
        case esp::OpenStatus::kOk: break;
        case esp::OpenStatus::kReplay: stats_.rxReplay++; continue;
        case esp::OpenStatus::kAuth: stats_.rxAuth++; continue;
        default: stats_.rxBad++; continue;
      }
      // Only VXLAN travels in these SAs.
      if (next != kProtoUdp || len < 8 || ((uint16_t(payload[2]) << 8) | payload[3]) != kVxlanPort) {
        stats_.rxBad++;
        continue;
      }
      // The datagram's own IPv4 header goes in front of it again (there is room: the outer header
      // and the ESP header and IV were there), with the outer addresses: transport mode.
      // It may overlap the outer header's addresses, so those are read first.
      uint8_t outer[20];
      memcpy(outer, pkt, sizeof outer);
      uint8_t* ip = payload - 20;
      const size_t ipLen = 20 + len;
      ip[0] = 0x45;
      ip[1] = outer[1];
      ip[2] = uint8_t(ipLen >> 8);
      ip[3] = uint8_t(ipLen);
      ip[4] = outer[4];
      ip[5] = outer[5];
      ip[6] = 0;
      ip[7] = 0;
      ip[8] = outer[8];
      ip[9] = kProtoUdp;
      ip[10] = 0;
      ip[11] = 0;
      memcpy(ip + 12, outer + 12, 8);
      const uint16_t sum = Checksum(ip, 20);
      ip[10] = uint8_t(sum >> 8);
      ip[11] = uint8_t(sum);
      if (write(tun_.get(), ip, ipLen) < 0) stats_.rxErr++;
      else stats_.rx++;
    }
  }

  void Accept() {
    int fd = accept4(listen_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    // One agent at a time: a new connection is the agent started again.
    if (client_.valid()) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, client_.get(), nullptr);
    client_.reset(fd);
    line_.clear();
    pendingOut_.clear();
    pendingIn_.clear();
    inTransaction_ = false;
    Watch(fd);
  }

  void FromClient() {
    char buf[4096];
    for (;;) {
      ssize_t n = read(client_.get(), buf, sizeof buf);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, client_.get(), nullptr);
        client_.reset();
        return;
      }
      if (n < 0) return;
      line_.append(buf, size_t(n));
      size_t nl;
      while ((nl = line_.find('\n')) != std::string::npos) {
        std::string l = line_.substr(0, nl);
        line_.erase(0, nl + 1);
        Command(l);
        if (exiting_) return;
      }
      if (line_.size() > 1 << 20) line_.clear();
    }
  }

  void Reply(const std::string& s) {
    std::string l = s + "\n";
    // The agent reads every answer before it asks again; a short write is a gone client.
    if (client_.valid() && write(client_.get(), l.data(), l.size()) < 0) client_.reset();
  }

  void Command(const std::string& l) {
    std::vector<std::string> w;
    size_t i = 0;
    while (i < l.size()) {
      size_t j = l.find(' ', i);
      if (j == std::string::npos) j = l.size();
      if (j > i) w.push_back(l.substr(i, j - i));
      i = j + 1;
    }
    if (w.empty()) return;
    const std::string& verb = w[0];
    if (verb == "begin") {
      pendingOut_.clear();
      pendingIn_.clear();
      inTransaction_ = true;
      bad_.clear();
    } else if ((verb == "out" || verb == "in") && w.size() == 4 && inTransaction_) {
      Pending p{};
      unsigned long spi = strtoul(w[2].c_str(), nullptr, 16);
      if (inet_pton(AF_INET, w[1].c_str(), &p.addr) != 1 || spi < 256 || spi > 0xffffffffUL || !ParseHex(w[3], p.key.bytes, sizeof p.key.bytes)) {
        if (bad_.empty()) bad_ = "bad SA line: " + verb + " " + w[1];
        return;
      }
      p.spi = uint32_t(spi);
      (verb == "out" ? pendingOut_ : pendingIn_).push_back(p);
    } else if (verb == "commit" && inTransaction_) {
      inTransaction_ = false;
      if (!bad_.empty()) return Reply("error " + bad_);
      Reply(Commit());
    } else if (verb == "stats") {
      char s[512];
      snprintf(s, sizeof s, "stats tx=%llu tx_nosa=%llu tx_bad=%llu tx_err=%llu rx=%llu rx_nosa=%llu rx_replay=%llu rx_auth=%llu rx_bad=%llu rx_err=%llu out=%zu in=%zu",
               (unsigned long long)stats_.tx, (unsigned long long)stats_.txNoSa, (unsigned long long)stats_.txBad, (unsigned long long)stats_.txErr,
               (unsigned long long)stats_.rx, (unsigned long long)stats_.rxNoSa, (unsigned long long)stats_.rxReplay, (unsigned long long)stats_.rxAuth,
               (unsigned long long)stats_.rxBad, (unsigned long long)stats_.rxErr, out_.size(), in_sa_.size());
      Reply(s);
    } else if (verb == "info") {
      char addr[INET_ADDRSTRLEN] = "";
      inet_ntop(AF_INET, &local_, addr, sizeof addr);
      Reply("info local=" + std::string(addr) + " tun=" + tunName_ + " pid=" + std::to_string(getpid()));
    } else if (verb == "exit") {
      Reply("bye");
      exiting_ = true;
    } else {
      Reply("error unknown command " + verb);
    }
  }

  // Replaces the SA set; an SA that stays (same SPI and key) keeps its counter and window.
  std::string Commit() {
    std::unordered_map<uint32_t, std::unique_ptr<Out>> out;
    std::unordered_map<uint32_t, std::unique_ptr<In>> in;
    const uint64_t now = NowNs();
    for (const Pending& p : pendingOut_) {
      auto old = out_.find(p.addr);
      if (old != out_.end() && old->second->sa.spi == p.spi && old->second->key == p.key) {
        out[p.addr] = std::move(old->second);
        continue;
      }
      auto o = std::make_unique<Out>();
      o->key = p.key;
      o->sa.spi = p.spi;
      o->sa.seq = now;
      if (!o->sa.aead.Init(p.key.bytes, true)) return "error cipher init failed";
      out[p.addr] = std::move(o);
    }
    for (const Pending& p : pendingIn_) {
      auto old = in_sa_.find(p.spi);
      if (old != in_sa_.end() && old->second->sa.src == p.addr && old->second->key == p.key) {
        in[p.spi] = std::move(old->second);
        continue;
      }
      if (in.count(p.spi) != 0) return "error two inbound SAs with SPI " + std::to_string(p.spi);
      auto s = std::make_unique<In>();
      s->key = p.key;
      s->sa.spi = p.spi;
      s->sa.src = p.addr;
      if (!s->sa.aead.Init(p.key.bytes, false)) return "error cipher init failed";
      in[p.spi] = std::move(s);
    }
    out_ = std::move(out);
    in_sa_ = std::move(in);
    return "ok " + std::to_string(out_.size()) + " " + std::to_string(in_sa_.size());
  }

  struct Pending {
    uint32_t addr;
    uint32_t spi;
    Key key;
  };

  std::string tunName_;
  uint32_t local_;
  std::string socketPath_;
  Fd tun_, raw_, listen_, client_, epoll_;
  std::unordered_map<uint32_t, std::unique_ptr<Out>> out_;    // by destination address
  std::unordered_map<uint32_t, std::unique_ptr<In>> in_sa_;  // by SPI
  std::vector<Pending> pendingOut_, pendingIn_;
  bool inTransaction_ = false;
  bool exiting_ = false;
  std::string bad_;
  std::string line_;
  Stats stats_;
  uint8_t in_[kBuf];
  // Batches: sealed packets waiting for one sendmmsg, and the slots one recvmmsg fills.
  uint8_t txSlots_[kBurst * (kSlot + esp::kMaxOverhead)];
  mmsghdr txMsg_[kBurst];
  iovec txIov_[kBurst];
  sockaddr_in txTo_[kBurst];
  uint8_t rxSlots_[kBurst * kSlot];
  mmsghdr rxMsg_[kBurst];
  iovec rxIov_[kBurst];
};

void OnSignal(int) { gStop = 1; }

}  // namespace

int main(int argc, char** argv) {
  std::string tun, local, socketPath, pidFile;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--tun") tun = value();
    else if (a == "--local") local = value();
    else if (a == "--socket") socketPath = value();
    else if (a == "--pid-file") pidFile = value();
    else Die("unknown argument " + a + " (usage: tsswarm-esp --tun NAME --local ADDR --socket PATH [--pid-file PATH])");
  }
  if (tun.empty() || local.empty() || socketPath.empty()) Die("usage: tsswarm-esp --tun NAME --local ADDR --socket PATH [--pid-file PATH]");
  uint32_t localAddr;
  if (inet_pton(AF_INET, local.c_str(), &localAddr) != 1) Die("--local " + local + ": not an IPv4 address");
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  auto helper = std::make_unique<Helper>(tun, localAddr, socketPath);
  helper->Setup();
  if (!pidFile.empty()) {
    FILE* f = fopen(pidFile.c_str(), "w");
    if (f != nullptr) {
      fprintf(f, "%d\n", getpid());
      fclose(f);
    }
  }
  // The agent knows the helper is up when the socket answers.
  int rc = helper->Run();
  if (!pidFile.empty()) unlink(pidFile.c_str());
  return rc;
}
