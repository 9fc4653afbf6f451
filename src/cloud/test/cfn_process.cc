// cfn_process: prints a template as CloudFormation deploys it (its "Processed" stage: the
// AWS::LanguageExtensions transform applied, every Fn::ForEach expanded, the Transform section
// dropped) as JSON, so a linter that predates the transform checks the resources it generates.
// Usage: cfn_process TEMPLATE [Key=Value ...] > processed.json
// Exit status: 0 on success, 1 when the template does not bind (the error is printed), 2 on usage.
#include <boost/json/serialize.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "mysfits/cloud/template.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: cfn_process TEMPLATE [Key=Value ...]\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "cfn_process: cannot read " << argv[1] << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::map<std::string, std::string> overrides;
  for (int i = 2; i < argc; ++i) {
    std::string kv = argv[i];
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "cfn_process: expected Key=Value, got '" << kv << "'\n";
      return 2;
    }
    overrides[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto doc = mysfits::cloud::parse_template(text.str());
  if (!doc) {
    std::cerr << argv[1] << ": " << doc.error().message << "\n";
    return 1;
  }
  auto bound = mysfits::cloud::stack_template::bind(*doc, overrides, {.stack_name = "lint"});
  if (!bound) {
    std::cerr << argv[1] << ": " << bound.error().message << "\n";
    return 1;
  }
  auto processed = bound->processed_template();
  processed.erase("Transform");
  std::cout << boost::json::serialize(processed) << "\n";
  return 0;
}
