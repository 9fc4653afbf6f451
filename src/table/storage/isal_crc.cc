// ISA-L's CRCs with the vector registers cleared after each call (isal_crc.h).
#include "storage/isal_crc.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mysfits::table::storage {

namespace {

#if defined(__x86_64__)
// `vzeroupper` is an AVX instruction: compiled for AVX in this function only, run only on a CPU
// that has it (ISA-L dirties the upper registers only where it can use them).
__attribute__((target("avx"))) void zero_upper() { _mm256_zeroupper(); }

bool cpu_has_avx() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") != 0;  // (checks that the OS saves the AVX state too)
  }();
  return has;
}

void clear_upper_registers() {
  if (cpu_has_avx()) zero_upper();
}
#else
void clear_upper_registers() {}
#endif

}  // namespace

std::uint32_t crc32_gzip(std::string_view data) {
  std::uint32_t crc =
      crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  clear_upper_registers();
  return crc;
}

std::uint32_t crc32c_update(std::uint32_t crc, const unsigned char* data, std::size_t n) {
  // ISA-L's crc32_iscsi takes an int length.
  while (n > 0) {
    auto chunk = static_cast<int>(std::min<std::size_t>(n, INT_MAX));
    crc = crc32_iscsi(const_cast<unsigned char*>(data), chunk, crc);
    data += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
  clear_upper_registers();
  return crc;
}

}  // namespace mysfits::table::storage
