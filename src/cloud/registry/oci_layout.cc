// OCI image layout helpers; see oci_layout.h.
#include "registry/oci_layout.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

namespace mysfits::cloud::oci {
namespace fs = std::filesystem;
namespace json = boost::json;

std::string sha256_digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
  return out;
}

result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return error::not_found("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

result<void> write_file_atomically(const fs::path& p, std::string_view bytes) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  auto tmp = p;
  tmp += fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return error::io("cannot write " + tmp.string());
  }
  if (int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(tmp, p, ec);
  if (ec) return error::io("cannot rename " + tmp.string() + ": " + ec.message());
  return ok();
}

fs::path blob_path(const fs::path& layout, std::string_view digest) {
  auto colon = digest.find(':');
  return layout / "blobs" / std::string(digest.substr(0, colon)) /
         std::string(digest.substr(colon + 1));
}

result<std::string> write_blob(const fs::path& layout, std::string_view bytes) {
  auto digest = sha256_digest(bytes);
  auto path = blob_path(layout, digest);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (auto w = write_file_atomically(path, bytes); !w) return w.error();
  }
  return digest;
}

result<std::string> read_blob(const fs::path& layout, std::string_view digest) {
  if (!digest.starts_with("sha256:") || digest.size() != 71 ||
      digest.find_first_not_of("0123456789abcdef", 7) != std::string_view::npos) {
    return error::invalid_argument(fmt::format("bad digest '{}'", digest));
  }
  auto bytes = read_file(blob_path(layout, digest));
  if (!bytes) return error::not_found(fmt::format("blob {} is missing", digest));
  if (sha256_digest(*bytes) != digest) {
    return error::corruption(fmt::format("blob {} does not match its digest", digest));
  }
  return bytes;
}

result<void> init_layout(const fs::path& layout) {
  std::error_code ec;
  fs::create_directories(layout / "blobs" / "sha256", ec);
  if (ec) return error::io("cannot create " + layout.string() + ": " + ec.message());
  if (!fs::exists(layout / "oci-layout")) {
    if (auto w = write_file_atomically(layout / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
        !w) {
      return w;
    }
  }
  if (!fs::exists(layout / "index.json")) {
    json::object index{
        {"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", json::array{}}};
    return write_file_atomically(layout / "index.json", json::serialize(index));
  }
  return ok();
}

result<json::object> read_index(const fs::path& layout) {
  auto text = read_file(layout / "index.json");
  if (!text) return text.error();
  boost::system::error_code ec;
  auto v = json::parse(*text, ec);
  if (ec || !v.is_object() || !v.as_object().contains("manifests") ||
      !v.as_object().at("manifests").is_array()) {
    return error::corruption(layout.string() + "/index.json is not an OCI index");
  }
  return std::move(v.as_object());
}

result<void> tag_manifest(const fs::path& layout, std::string_view tag, std::string_view digest,
                          std::size_t size) {
  auto index = read_index(layout);
  if (!index) return index.error();
  json::array kept;
  for (auto& m : (*index)["manifests"].as_array()) {
    const auto* ann = m.as_object().if_contains("annotations");
    const auto* ref = ann && ann->is_object() ? ann->as_object().if_contains(kRefName) : nullptr;
    if (ref && ref->is_string() && ref->as_string() == tag) continue;
    kept.push_back(m);
  }
  kept.push_back(json::object{{"mediaType", kManifestType},
                              {"digest", digest},
                              {"size", size},
                              {"annotations", json::object{{kRefName, tag}}}});
  (*index)["manifests"] = std::move(kept);
  return write_file_atomically(layout / "index.json", json::serialize(*index));
}

result<std::string> find_manifest(const fs::path& layout, std::string_view reference) {
  if (reference.starts_with("sha256:")) {
    std::error_code ec;
    if (!fs::exists(blob_path(layout, reference), ec)) {
      return error::not_found(fmt::format("image {} not found", reference));
    }
    return std::string(reference);
  }
  auto index = read_index(layout);
  if (!index) return index.error();
  for (const auto& m : (*index)["manifests"].as_array()) {
    const auto* ann = m.as_object().if_contains("annotations");
    const auto* ref = ann && ann->is_object() ? ann->as_object().if_contains(kRefName) : nullptr;
    if (ref && ref->is_string() && ref->as_string() == reference) {
      return std::string(m.as_object().at("digest").as_string());
    }
  }
  return error::not_found(fmt::format("image tag '{}' not found", reference));
}

}  // namespace mysfits::cloud::oci
