// The local ECR: one OCI image layout per repository and region; push copies blobs by digest.
#include "mysfits/cloud/registry.h"

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>

#include <boost/json.hpp>
#include <regex>

#include "registry/oci_layout.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// ECR repository names: lowercase, digits, and . _ - / separators (2..256 characters).
bool valid_repository_name(const std::string& name) {
  static const std::regex re(R"((?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)");
  return name.size() >= 2 && name.size() <= 256 && std::regex_match(name, re);
}

bool valid_region(const std::string& region) {
  static const std::regex re(R"([a-z]{2}(-[a-z]+)+-[0-9]+)");
  return std::regex_match(region, re);
}

result<json::object> parse_object(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return error::corruption(what + " is not a JSON object");
  return std::move(v.as_object());
}

}  // namespace

result<image_uri> parse_image_uri(std::string_view uri) {
  static const std::regex re(
      R"(([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([a-z0-9._/-]+?)(?:(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))|(?:@(sha256:[0-9a-f]{64})))?)");
  std::smatch m;
  std::string s(uri);
  if (!std::regex_match(s, m, re)) {
    return error::invalid_argument(
        fmt::format("'{}' is not an image URI of the form "
                    "<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>",
                    uri));
  }
  image_uri out{m[1], m[2], m[3], "latest"};
  if (m[4].matched) out.reference = m[4];
  if (m[5].matched) out.reference = m[5];
  return out;
}

registry::registry(fs::path state_dir, std::string account_id)
    : root_(std::move(state_dir) / "registry"), account_id_(std::move(account_id)) {}

fs::path registry::repo_dir(const std::string& region, const std::string& name) const {
  return root_ / region / name;
}

std::string registry::repository_uri(const std::string& region, const std::string& name) const {
  return fmt::format("{}.dkr.ecr.{}.amazonaws.com/{}", account_id_, region, name);
}

result<void> registry::create_repository(const std::string& region, const std::string& name) {
  if (!valid_region(region)) return error::invalid_argument(fmt::format("bad region '{}'", region));
  if (!valid_repository_name(name)) {
    return error::invalid_argument(fmt::format(
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy "
        "regular expression (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*' ({})",
        name));
  }
  return oci::init_layout(repo_dir(region, name));
}

result<void> registry::delete_repository(const std::string& region, const std::string& name) {
  if (!valid_region(region) || !valid_repository_name(name)) return ok();
  std::error_code ec;
  fs::remove_all(repo_dir(region, name), ec);
  if (ec) return error::io("cannot delete repository " + name + ": " + ec.message());
  return ok();
}

bool registry::has_repository(const std::string& region, const std::string& name) const {
  std::error_code ec;
  return valid_region(region) && valid_repository_name(name) &&
         fs::exists(repo_dir(region, name) / "index.json", ec);
}

result<std::string> registry::push(const fs::path& layout_dir, const std::string& source_tag,
                                   const std::string& region, const std::string& repository,
                                   const std::string& tag) {
  if (!has_repository(region, repository)) {
    return error::not_found(fmt::format(
        "The repository with name '{}' does not exist in the registry with id '{}' in {}",
        repository, account_id_, region));
  }
  auto digest = oci::find_manifest(layout_dir, source_tag);
  if (!digest) return digest.error();
  auto manifest_text = oci::read_blob(layout_dir, *digest);
  if (!manifest_text) return manifest_text.error();
  auto manifest = parse_object(*manifest_text, "manifest " + *digest);
  if (!manifest) return manifest.error();
  auto dest = repo_dir(region, repository);
  std::vector<std::string> blobs;
  try {
    blobs.push_back(std::string(manifest->at("config").at("digest").as_string()));
    for (const auto& l : manifest->at("layers").as_array()) {
      blobs.push_back(std::string(l.at("digest").as_string()));
    }
  } catch (const std::exception&) {
    return error::corruption("manifest " + *digest + " is not an OCI manifest");
  }
  // Layers and config first, the manifest last, the tag after: a reader never sees a tag
  // whose blobs are not all there.
  for (const auto& b : blobs) {
    std::error_code ec;
    if (fs::exists(oci::blob_path(dest, b), ec)) continue;
    auto bytes = oci::read_blob(layout_dir, b);
    if (!bytes) return bytes.error();
    if (auto w = oci::write_blob(dest, *bytes); !w) return w.error();
  }
  if (auto w = oci::write_blob(dest, *manifest_text); !w) return w.error();
  if (auto t = oci::tag_manifest(dest, tag, *digest, manifest_text->size()); !t) return t.error();
  return *digest;
}

result<image_info> registry::resolve(const std::string& region, const std::string& repository,
                                     const std::string& reference) const {
  if (!has_repository(region, repository)) {
    return error::not_found(
        fmt::format("repository '{}' does not exist in {}", repository, region));
  }
  auto dir = repo_dir(region, repository);
  auto digest = oci::find_manifest(dir, reference);
  if (!digest) return digest.error();
  auto manifest_text = oci::read_blob(dir, *digest);
  if (!manifest_text) return manifest_text.error();
  auto manifest = parse_object(*manifest_text, "manifest");
  if (!manifest) return manifest.error();
  try {
    auto config_text = oci::read_blob(dir, manifest->at("config").at("digest").as_string());
    if (!config_text) return config_text.error();
    auto config = parse_object(*config_text, "image config");
    if (!config) return config.error();
    json::object c;
    if (auto* inner = config->if_contains("config"); inner && inner->is_object())
      c = inner->as_object();
    return image_info{*digest, std::move(c)};
  } catch (const std::exception&) {
    return error::corruption("manifest " + *digest + " is not an OCI manifest");
  }
}

result<image_info> registry::unpack(const std::string& region, const std::string& repository,
                                    const std::string& reference,
                                    const fs::path& destination) const {
  auto info = resolve(region, repository, reference);
  if (!info) return info.error();
  auto dir = repo_dir(region, repository);
  auto manifest = parse_object(*oci::read_blob(dir, info->digest), "manifest");
  if (!manifest) return manifest.error();
  std::error_code ec;
  fs::create_directories(destination, ec);
  if (ec) return error::io("cannot create " + destination.string() + ": " + ec.message());
  for (const auto& l : manifest->at("layers").as_array()) {
    auto blob = oci::read_blob(dir, l.at("digest").as_string());
    if (!blob) return blob.error();
    struct archive* a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    std::string failure;
    if (archive_read_open_memory(a, blob->data(), blob->size()) != ARCHIVE_OK) {
      failure = archive_error_string(a);
    }
    struct archive_entry* e = nullptr;
    while (failure.empty()) {
      int rc = archive_read_next_header(a, &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) {
        failure = archive_error_string(a);
        break;
      }
      std::string path = archive_entry_pathname(e);
      archive_entry_set_pathname(e, (destination / path).c_str());
      // The secure flags refuse "..", absolute paths and writes through symlinks.
      if (archive_read_extract(a, e,
                               ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                   ARCHIVE_EXTRACT_SECURE_SYMLINKS) != ARCHIVE_OK) {
        failure = fmt::format("{}: {}", path, archive_error_string(a));
      }
    }
    archive_read_free(a);
    if (!failure.empty()) return error::io("cannot unpack image layer: " + failure);
  }
  return info;
}

}  // namespace mysfits::cloud
