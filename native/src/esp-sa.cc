// ESP framing and AES-GCM for tsswarm-esp (see esp-sa.h for the format).
#include "esp-sa.h"

#include <string.h>

namespace tsswarm::esp {

namespace {

void Put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}

uint32_t Get32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]); }

// AAD with extended sequence numbers (RFC 4106 section 5): SPI, then the 64-bit number high half first.
void Aad(uint8_t aad[12], uint32_t spi, uint64_t seq) {
  Put32(aad, spi);
  Put32(aad + 4, uint32_t(seq >> 32));
  Put32(aad + 8, uint32_t(seq));
}

}  // namespace

Aead::~Aead() {
  if (ctx_ != nullptr) EVP_CIPHER_CTX_free(ctx_);
}

bool Aead::Init(const uint8_t* keyAndSalt, bool encrypt) {
  if (ctx_ == nullptr) ctx_ = EVP_CIPHER_CTX_new();
  if (ctx_ == nullptr) return false;
  memcpy(salt_, keyAndSalt + kKeyLen, kSaltLen);
  // The key schedule is computed once here; per packet only the nonce is set.
  if (encrypt) return EVP_EncryptInit_ex(ctx_, EVP_aes_128_gcm(), nullptr, keyAndSalt, nullptr) == 1;
  return EVP_DecryptInit_ex(ctx_, EVP_aes_128_gcm(), nullptr, keyAndSalt, nullptr) == 1;
}

bool Aead::Seal(const uint8_t iv[kIvLen], const uint8_t* aad, size_t aadLen, uint8_t* data, size_t n, uint8_t tag[kIcvLen]) {
  uint8_t nonce[kSaltLen + kIvLen];
  memcpy(nonce, salt_, kSaltLen);
  memcpy(nonce + kSaltLen, iv, kIvLen);
  int len = 0;
  if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_EncryptUpdate(ctx_, nullptr, &len, aad, int(aadLen)) != 1) return false;
  if (EVP_EncryptUpdate(ctx_, data, &len, data, int(n)) != 1) return false;
  if (EVP_EncryptFinal_ex(ctx_, data + len, &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, int(kIcvLen), tag) == 1;
}

bool Aead::Open(const uint8_t iv[kIvLen], const uint8_t* aad, size_t aadLen, uint8_t* data, size_t n, const uint8_t tag[kIcvLen]) {
  uint8_t nonce[kSaltLen + kIvLen];
  memcpy(nonce, salt_, kSaltLen);
  memcpy(nonce + kSaltLen, iv, kIvLen);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, int(kIcvLen), const_cast<uint8_t*>(tag)) != 1) return false;
  if (EVP_DecryptUpdate(ctx_, nullptr, &len, aad, int(aadLen)) != 1) return false;
  if (EVP_DecryptUpdate(ctx_, data, &len, data, int(n)) != 1) return false;
  return EVP_DecryptFinal_ex(ctx_, data + len, &len) == 1;
}

bool ReplayWindow::Check(uint64_t seq) const {
  if (seq == 0) return false;
  if (seq > top_) return true;
  const uint64_t age = top_ - seq;
  if (age >= kBits) return false;
  return (bits_[age / 64] & (uint64_t(1) << (age % 64))) == 0;
}

void ReplayWindow::Accept(uint64_t seq) {
  if (seq > top_) {
    const uint64_t shift = seq - top_;
    if (shift >= kBits) {
      bits_.fill(0);
    } else {
      // bit i moves to i + shift, from the highest word down.
      const size_t words = shift / 64;
      const unsigned rest = unsigned(shift % 64);
      for (size_t i = bits_.size(); i-- > 0;) {
        uint64_t v = 0;
        if (i >= words) {
          v = bits_[i - words] << rest;
          if (rest != 0 && i > words) v |= bits_[i - words - 1] >> (64 - rest);
        }
        bits_[i] = v;
      }
    }
    top_ = seq;
    bits_[0] |= 1;
    return;
  }
  const uint64_t age = top_ - seq;
  if (age < kBits) bits_[age / 64] |= uint64_t(1) << (age % 64);
}

uint32_t SpiOf(const uint8_t* esp) { return Get32(esp); }

size_t Seal(OutboundSa& sa, uint8_t nextHeader, const uint8_t* payload, size_t n, uint8_t* out) {
  const uint64_t seq = sa.seq++;
  Put32(out, sa.spi);
  Put32(out + 4, uint32_t(seq));
  uint8_t* iv = out + kHeaderLen;
  Put32(iv, uint32_t(seq >> 32));
  Put32(iv + 4, uint32_t(seq));
  uint8_t* body = iv + kIvLen;
  memcpy(body, payload, n);
  // Payload, padding and trailer end on a 4-byte boundary (RFC 4303 2.4); padding is 1, 2, 3.
  const size_t pad = (4 - (n + kTrailerLen) % 4) % 4;
  for (size_t i = 0; i < pad; i++) body[n + i] = uint8_t(i + 1);
  body[n + pad] = uint8_t(pad);
  body[n + pad + 1] = nextHeader;
  const size_t plain = n + pad + kTrailerLen;
  uint8_t aad[12];
  Aad(aad, sa.spi, seq);
  if (!sa.aead.Seal(iv, aad, sizeof aad, body, plain, body + plain)) return 0;
  return kHeaderLen + kIvLen + plain + kIcvLen;
}

OpenStatus Open(InboundSa& sa, uint8_t* esp, size_t n, uint8_t** payload, size_t* payloadLen, uint8_t* nextHeader) {
  if (n < kHeaderLen + kIvLen + kTrailerLen + kIcvLen) return OpenStatus::kShort;
  const uint8_t* iv = esp + kHeaderLen;
  const uint64_t seq = (uint64_t(Get32(iv)) << 32) | Get32(iv + 4);
  // The low half travels twice (header and IV); both are authenticated, they must agree.
  if (uint32_t(seq) != Get32(esp + 4)) return OpenStatus::kAuth;
  if (!sa.window.Check(seq)) return OpenStatus::kReplay;
  uint8_t* body = esp + kHeaderLen + kIvLen;
  const size_t cipherLen = n - kHeaderLen - kIvLen - kIcvLen;
  uint8_t aad[12];
  Aad(aad, sa.spi, seq);
  if (!sa.aead.Open(iv, aad, sizeof aad, body, cipherLen, body + cipherLen)) return OpenStatus::kAuth;
  const uint8_t pad = body[cipherLen - 2];
  if (size_t(pad) + kTrailerLen > cipherLen) return OpenStatus::kTrailer;
  sa.window.Accept(seq);
  *nextHeader = body[cipherLen - 1];
  *payload = body;
  *payloadLen = cipherLen - kTrailerLen - pad;
  return OpenStatus::kOk;
}

}  // namespace tsswarm::esp
