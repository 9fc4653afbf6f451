// Per-region image registries of the local cloud (the local ECR) and the image builder.
// Images are real OCI images (image-spec 1.0: a manifest, a config and gzip'd tar layers, all
// content-addressed by SHA-256); each repository is an OCI image layout directory under
// <state_dir>/registry/<region>/<repository>, so standard OCI tools can read it.
#pragma once

#include <boost/json/object.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "mysfits/common/result.h"

namespace mysfits::cloud {

struct image_file {
  std::filesystem::path source;  // file on this machine
  std::string destination;       // path inside the image, e.g. "app/mysfits-core"
  unsigned mode = 0644;          // permission bits in the image
};

struct image_spec {
  std::vector<image_file> files;
  std::vector<std::string> entrypoint;  // e.g. {"/app/mysfits-core"}
  std::vector<std::string> env;         // "K=V"
  std::string working_dir = "/";
  boost::json::object labels;
};

// Builds an OCI image layout at `layout_dir` (created or replaced) holding one image tagged
// `tag`; returns its manifest digest ("sha256:…"). The same files give the same digest.
[[nodiscard]] result<std::string> build_image(const image_spec& spec,
                                              const std::filesystem::path& layout_dir,
                                              const std::string& tag = "latest");

// Where an image URI points: <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]
struct image_uri {
  std::string account, region, repository, reference;  // reference: tag or sha256:… digest
};
[[nodiscard]] result<image_uri> parse_image_uri(std::string_view uri);

struct image_info {
  std::string digest;          // manifest digest
  boost::json::object config;  // the OCI config's "config" (Entrypoint, Env, WorkingDir, …)
};

class registry {
 public:
  explicit registry(std::filesystem::path state_dir, std::string account_id = "123456789012");

  // The repository's URI as ECR writes it: <account>.dkr.ecr.<region>.amazonaws.com/<name>.
  std::string repository_uri(const std::string& region, const std::string& name) const;
  [[nodiscard]] result<void> create_repository(const std::string& region, const std::string& name);
  // Deletes a repository and its images. A missing one is not an error.
  [[nodiscard]] result<void> delete_repository(const std::string& region, const std::string& name);
  bool has_repository(const std::string& region, const std::string& name) const;

  // Copies the image tagged `source_tag` in an OCI layout into the repository under `tag`.
  // Blobs already present are not copied again. Returns the manifest digest.
  [[nodiscard]] result<std::string> push(const std::filesystem::path& layout_dir,
                                         const std::string& source_tag, const std::string& region,
                                         const std::string& repository, const std::string& tag);
  // Finds an image by tag or digest.
  [[nodiscard]] result<image_info> resolve(const std::string& region, const std::string& repository,
                                           const std::string& reference) const;
  // Extracts the image's layers, in order, into `destination` (created).
  [[nodiscard]] result<image_info> unpack(const std::string& region, const std::string& repository,
                                          const std::string& reference,
                                          const std::filesystem::path& destination) const;

 private:
  std::filesystem::path repo_dir(const std::string& region, const std::string& name) const;
  std::filesystem::path root_;
  std::string account_id_;
};

}  // namespace mysfits::cloud
