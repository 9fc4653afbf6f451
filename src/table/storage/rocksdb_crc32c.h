// RocksDB's CRC-32C functions, computed with the CPU's CRC32 instruction (Intel ISA-L) instead of
// the byte-at-a-time table loop of Debian's RocksDB build (docs/table.md, "The request path and
// what it costs").
//
// Debian builds RocksDB portable, without SSE 4.2, so its crc32c::Extend runs the table loop
// (its LOG says "Fast CRC32 supported: Not supported on x86"), and Crc32cCombine, which the
// write-ahead-log writer calls for every record, multiplies polynomials bit by bit: together
// ~4,700 instructions of a 200-byte PutItem. rocksdb_crc32c.cc defines the three functions of
// RocksDB's util/crc32c.cc that the rest of RocksDB calls; since librocksdb is a static archive,
// the linker then never pulls in RocksDB's own crc32c object. The checksums are the same bits
// (CRC-32C, the Castagnoli polynomial), so logs and table files written by either read back with
// the other; storage/test checks them against a bitwise reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rocksdb::crc32c {
// As declared in RocksDB 7.8's util/crc32c.h.
std::string IsFastCrc32Supported();
std::uint32_t Extend(std::uint32_t init_crc, const char* data, std::size_t n);
std::uint32_t Crc32cCombine(std::uint32_t crc1, std::uint32_t crc2, std::size_t crc2len);
}  // namespace rocksdb::crc32c

namespace mysfits::table::storage {
// What RocksDB's LOG says of its CRC-32C ("Fast CRC32 supported: …"); referencing it from the
// store also makes sure the linker takes these definitions rather than RocksDB's.
inline std::string rocksdb_crc32c_kind() { return rocksdb::crc32c::IsFastCrc32Supported(); }
}  // namespace mysfits::table::storage
