// One ESP security association of tsswarm-esp (esp-main.cc): RFC 4303 ESP in transport mode with
// AES-128-GCM as RFC 4106 defines it for ESP (a 16-byte key and a 4-byte salt per SA, an 8-byte
// explicit IV, a 16-byte ICV) and 64-bit extended sequence numbers (the AAD is SPI, high and low
// halves of the sequence number).
//
// The explicit IV of every packet is its full 64-bit sequence number. RFC 4106 allows any IV that
// never repeats under one key; this one also tells our receiver the sequence number's high half,
// so it needs no guess (RFC 4303 appendix A) and follows a sender whose numbering jumped forward
// (a restarted helper starts at the clock, see OutboundSa). A receiver that infers the high half
// instead still opens our packets.
#pragma once

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include <array>

namespace tsswarm::esp {

constexpr size_t kKeyLen = 16;
constexpr size_t kSaltLen = 4;
constexpr size_t kHeaderLen = 8;  // SPI + low half of the sequence number
constexpr size_t kIvLen = 8;
constexpr size_t kIcvLen = 16;
constexpr size_t kTrailerLen = 2;  // pad length + next header
// Largest growth of a payload: header, IV, up to 3 bytes of padding, trailer, ICV.
constexpr size_t kMaxOverhead = kHeaderLen + kIvLen + 3 + kTrailerLen + kIcvLen;

// An AES-128-GCM context with its key set once; only the nonce changes per packet.
class Aead {
 public:
  Aead() = default;
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  // key: 16 bytes of AES key then the 4-byte salt (RFC 4106 keying material).
  bool Init(const uint8_t* keyAndSalt, bool encrypt);
  bool Seal(const uint8_t iv[kIvLen], const uint8_t* aad, size_t aadLen, uint8_t* data, size_t n, uint8_t tag[kIcvLen]);
  bool Open(const uint8_t iv[kIvLen], const uint8_t* aad, size_t aadLen, uint8_t* data, size_t n, const uint8_t tag[kIcvLen]);

 private:
  EVP_CIPHER_CTX* ctx_ = nullptr;
  uint8_t salt_[kSaltLen] = {};
};

// Sliding anti-replay window over 64-bit sequence numbers (RFC 4303 3.4.3), 256 packets wide.
class ReplayWindow {
 public:
  static constexpr unsigned kBits = 256;
  // Whether seq may be accepted (not zero, not too old, not seen).
  bool Check(uint64_t seq) const;
  // Records seq as received (after its ICV verified).
  void Accept(uint64_t seq);

 private:
  uint64_t top_ = 0;
  std::array<uint64_t, kBits / 64> bits_{};  // bit i: top_ - i was received
};

struct OutboundSa {
  uint32_t spi = 0;
  // Next sequence number. Starts at the clock (CLOCK_REALTIME in ns) when the SA is made, so that a
  // restarted helper never reuses a (key, IV) pair and the peer's replay window accepts it.
  uint64_t seq = 0;
  Aead aead;
};

struct InboundSa {
  uint32_t spi = 0;
  uint32_t src = 0;  // network byte order: the only peer allowed to use this SPI
  ReplayWindow window;
  Aead aead;
};

// Encrypts `payload` (an IP payload: the UDP header onwards) into `out` as an ESP payload (header,
// IV, ciphertext with padding and trailer, ICV). `out` holds n + kMaxOverhead. Returns the length,
// or 0 if the cipher failed.
size_t Seal(OutboundSa& sa, uint8_t nextHeader, const uint8_t* payload, size_t n, uint8_t* out);

enum class OpenStatus { kOk, kShort, kReplay, kAuth, kTrailer };

// Decrypts an ESP payload in place. On kOk, *payload points at the inner payload (its length in
// *payloadLen) and *nextHeader names its protocol; the window records the packet.
OpenStatus Open(InboundSa& sa, uint8_t* esp, size_t n, uint8_t** payload, size_t* payloadLen, uint8_t* nextHeader);

uint32_t SpiOf(const uint8_t* esp);

}  // namespace tsswarm::esp
