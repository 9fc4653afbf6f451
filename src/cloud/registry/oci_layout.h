// Private helpers for OCI image layouts (image-spec 1.0 "image-layout"): blobs addressed by
// SHA-256 under blobs/sha256/, and index.json naming manifests by tag annotation.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <string>

#include "mysfits/common/result.h"

namespace mysfits::cloud::oci {

inline constexpr const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kConfigType = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kLayerType = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kRefName = "org.opencontainers.image.ref.name";

std::string sha256_digest(std::string_view bytes);  // "sha256:<hex>"
[[nodiscard]] result<std::string> read_file(const std::filesystem::path& p);
[[nodiscard]] result<void> write_file_atomically(const std::filesystem::path& p,
                                                 std::string_view bytes);

std::filesystem::path blob_path(const std::filesystem::path& layout, std::string_view digest);
// Stores bytes as a blob (if absent) and returns its digest.
[[nodiscard]] result<std::string> write_blob(const std::filesystem::path& layout,
                                             std::string_view bytes);
// Reads a blob and checks it still hashes to its digest.
[[nodiscard]] result<std::string> read_blob(const std::filesystem::path& layout,
                                            std::string_view digest);

// Creates oci-layout and an empty index.json if missing.
[[nodiscard]] result<void> init_layout(const std::filesystem::path& layout);
[[nodiscard]] result<boost::json::object> read_index(const std::filesystem::path& layout);
// Points `tag` at the manifest (replacing an earlier manifest with that tag).
[[nodiscard]] result<void> tag_manifest(const std::filesystem::path& layout, std::string_view tag,
                                        std::string_view digest, std::size_t size);
// The manifest digest for a tag or digest reference.
[[nodiscard]] result<std::string> find_manifest(const std::filesystem::path& layout,
                                                std::string_view reference);

}  // namespace mysfits::cloud::oci
