// RocksDB's CRC-32C on the CPU's CRC32 instruction (rocksdb_crc32c.h).
#include "storage/rocksdb_crc32c.h"

#include <algorithm>

#include "storage/isal_crc.h"

namespace rocksdb::crc32c {

namespace {
using mysfits::table::storage::crc32c_update;

const unsigned char zeros[16384] = {};
}  // namespace

std::string IsFastCrc32Supported() { return "Supported on x86 (ISA-L, mysfits-table)"; }

std::uint32_t Extend(std::uint32_t init_crc, const char* data, std::size_t n) {
  return crc32c_update(init_crc ^ 0xffffffffu, reinterpret_cast<const unsigned char*>(data), n) ^
         0xffffffffu;
}

// The CRC of A followed by B from crc1 = CRC(A), crc2 = CRC(B) and B's length. The register
// update is linear in its initial value, so CRC(A·B) = crc2 ^ update(crc1, len(B) zero bytes): the
// inversions cancel. A write-ahead-log record is at most 32 KiB, two passes over the zeros.
std::uint32_t Crc32cCombine(std::uint32_t crc1, std::uint32_t crc2, std::size_t crc2len) {
  std::uint32_t shifted = crc1;
  while (crc2len > 0) {
    std::size_t n = std::min(crc2len, sizeof(zeros));
    shifted = crc32c_update(shifted, zeros, n);
    crc2len -= n;
  }
  return crc2 ^ shifted;
}

}  // namespace rocksdb::crc32c
