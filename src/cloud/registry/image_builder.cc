// build_image: packs files into one gzip'd tar layer with libarchive (fixed owners and times,
// so the same files give the same digest) and writes an OCI image layout around it.
#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <set>

#include "mysfits/cloud/registry.h"
#include "registry/oci_layout.h"

namespace mysfits::cloud {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

la_ssize_t append_to_string(struct archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

result<std::string> make_tar(const image_spec& spec) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(a, &out, nullptr, append_to_string, nullptr);
  std::string failure;
  std::set<std::string> dirs;
  auto add_entry = [&](const std::string& path, unsigned type, unsigned mode,
                       const std::string* data) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_size(e, data ? static_cast<la_int64_t>(data->size()) : 0);
    if (archive_write_header(a, e) != ARCHIVE_OK) failure = archive_error_string(a);
    if (data && failure.empty() && archive_write_data(a, data->data(), data->size()) < 0) {
      failure = archive_error_string(a);
    }
    archive_entry_free(e);
  };
  for (const auto& f : spec.files) {
    std::string dest = f.destination;
    while (!dest.empty() && dest.front() == '/') dest.erase(0, 1);
    if (dest.empty() || dest.find("..") != std::string::npos) {
      failure = fmt::format("bad destination '{}' in image", f.destination);
      break;
    }
    // Parent directories first, once each.
    for (auto slash = dest.find('/'); slash != std::string::npos;
         slash = dest.find('/', slash + 1)) {
      auto dir = dest.substr(0, slash);
      if (dirs.insert(dir).second) add_entry(dir + "/", AE_IFDIR, 0755, nullptr);
    }
    auto data = oci::read_file(f.source);
    if (!data) {
      failure = fmt::format("cannot read {} for the image", f.source.string());
      break;
    }
    add_entry(dest, AE_IFREG, f.mode, &*data);
    if (!failure.empty()) break;
  }
  archive_write_close(a);
  archive_write_free(a);
  if (!failure.empty()) return error::io(failure);
  return out;
}

result<std::string> gzip(std::string_view in) {
  z_stream z{};
  // windowBits 15 + 16: gzip framing; the header's mtime stays 0, so output is reproducible.
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return error::internal("deflateInit2 failed");
  }
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return error::internal("gzip failed");
  return out;
}

}  // namespace

result<std::string> build_image(const image_spec& spec, const fs::path& layout_dir,
                                const std::string& tag) {
  auto tar = make_tar(spec);
  if (!tar) return tar.error();
  auto gz = gzip(*tar);
  if (!gz) return gz.error();
  std::error_code ec;
  fs::remove_all(layout_dir, ec);
  if (auto r = oci::init_layout(layout_dir); !r) return r.error();

  auto layer = oci::write_blob(layout_dir, *gz);
  if (!layer) return layer.error();
  json::array entrypoint, env;
  for (const auto& e : spec.entrypoint) entrypoint.push_back(json::string(e));
  for (const auto& e : spec.env) env.push_back(json::string(e));
  json::object config{
      {"architecture", "amd64"},
      {"os", "linux"},
      {"config", json::object{{"Entrypoint", entrypoint},
                              {"Env", env},
                              {"WorkingDir", spec.working_dir},
                              {"Labels", spec.labels}}},
      {"rootfs", json::object{{"type", "layers"},
                              {"diff_ids", json::array{json::string(oci::sha256_digest(*tar))}}}}};
  auto config_text = json::serialize(config);
  auto config_digest = oci::write_blob(layout_dir, config_text);
  if (!config_digest) return config_digest.error();
  json::object manifest{
      {"schemaVersion", 2},
      {"mediaType", oci::kManifestType},
      {"config", json::object{{"mediaType", oci::kConfigType},
                              {"digest", *config_digest},
                              {"size", config_text.size()}}},
      {"layers", json::array{json::object{
                     {"mediaType", oci::kLayerType}, {"digest", *layer}, {"size", gz->size()}}}}};
  auto manifest_text = json::serialize(manifest);
  auto manifest_digest = oci::write_blob(layout_dir, manifest_text);
  if (!manifest_digest) return manifest_digest.error();
  if (auto r = oci::tag_manifest(layout_dir, tag, *manifest_digest, manifest_text.size()); !r) {
    return r.error();
  }
  return *manifest_digest;
}

}  // namespace mysfits::cloud
