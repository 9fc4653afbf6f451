// The provider registry and the recording provider for types without local meaning.
#include <fmt/format.h>

#include <atomic>
#include <chrono>

#include "mysfits/cloud/stack.h"

namespace mysfits::cloud {
namespace json = boost::json;

result<created_resource> resource_provider::update(const resource_request& req,
                                                   const created_resource& current) {
  (void)current;  // replacement: the engine removes the old resource after the deploy succeeds
  return create(req);
}

namespace {

// Records the resource: a physical id shaped like AWS's and the attributes templates read.
class recorded_provider : public resource_provider {
 public:
  result<created_resource> create(const resource_request& req) override {
    static std::atomic<unsigned> counter{0};
    auto suffix = fmt::format(
        "{:x}{:04x}", std::chrono::system_clock::now().time_since_epoch().count() & 0xffffffff,
        counter.fetch_add(1) & 0xffff);
    created_resource r;
    std::string name;
    if (req.properties.is_object()) {
      for (const char* key : {"RoleName", "PolicyName", "LogGroupName", "GroupName", "Name"}) {
        if (auto* v = req.properties.as_object().if_contains(key); v && v->is_string()) {
          name = v->as_string();
          break;
        }
      }
    }
    r.physical_id =
        name.empty() ? fmt::format("{}-{}-{}", req.stack_name, req.logical_id, suffix) : name;
    auto service = req.type.substr(5, req.type.find("::", 5) - 5);  // AWS::IAM::Role → IAM
    for (auto& ch : service) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.attributes["Arn"] =
        fmt::format("arn:aws:{}:{}:123456789012:{}", service, req.region, r.physical_id);
    r.attributes["Id"] = r.physical_id;
    r.attributes["GroupId"] = r.physical_id;
    r.attributes["VpcId"] = r.physical_id;
    r.attributes["RoleId"] = r.physical_id;
    r.attributes["CidrBlock"] = "10.0.0.0/16";
    return r;
  }
  result<created_resource> update(const resource_request& req,
                                  const created_resource& current) override {
    (void)req;  // nothing exists locally to change
    return current;
  }
  result<void> remove(const resource_request&, const created_resource&) override { return ok(); }
};

// AWS types that the local cloud records without creating anything (DESIGN.md §2.4).
const char* kRecordedTypes[] = {
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::InstanceProfile",
    "AWS::IAM::ServiceLinkedRole",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::RouteTable",
    "AWS::EC2::Route",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::VPCEndpoint",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::CodeCommit::Repository",
    "AWS::CodeBuild::Project",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm",
    "AWS::SSM::Parameter",
    "AWS::ServiceDiscovery::PrivateDnsNamespace",
    "AWS::CloudFormation::WaitConditionHandle",
};

}  // namespace

provider_registry provider_registry::with_recorded_types() {
  provider_registry r;
  auto recorded = std::make_shared<recorded_provider>();
  for (const char* type : kRecordedTypes) r.add(type, recorded);
  return r;
}

void provider_registry::add(const std::string& type, std::shared_ptr<resource_provider> provider) {
  providers_[type] = std::move(provider);
}

resource_provider* provider_registry::find(std::string_view type) const {
  auto it = providers_.find(type);
  return it == providers_.end() ? nullptr : it->second.get();
}

}  // namespace mysfits::cloud
