// ISA-L's CRC-32 and CRC-32C for the engine — the x-amz-crc32 of every answer and RocksDB's
// checksums (rocksdb_crc32c.h) — with the CPU's vector registers cleared after each call.
//
// ISA-L picks its kernel at run time. On a CPU with AVX-512 it folds 64 bytes at a time in the
// 512-bit registers and returns without `vzeroupper`, so their upper parts stay in use ("dirty")
// until something clears them. Meanwhile the rest of the process — this project and Debian's
// libraries, compiled for baseline x86-64 (SSE2) — pays on the SSE instructions that write a
// vector register (each must merge the dirty upper part), and every context switch saves and
// restores the wider state. On this project's 2-core Xeon that cost a GetItem or a PutItem about a
// sixth of its server CPU (docs/table.md, "Dirty vector registers"); a `vzeroupper` after each
// call (a few cycles, only on CPUs that have AVX) removes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mysfits::table::storage {

// zlib's CRC-32 (the gzip polynomial, reflected) of `data`: DynamoDB's x-amz-crc32.
[[nodiscard]] std::uint32_t crc32_gzip(std::string_view data);

// The raw CRC-32C (Castagnoli) register update of `n` bytes from `crc`: no inversion on the way in
// or out (RocksDB's crc32c::Extend inverts around it).
[[nodiscard]] std::uint32_t crc32c_update(std::uint32_t crc, const unsigned char* data,
                                          std::size_t n);

}  // namespace mysfits::table::storage
