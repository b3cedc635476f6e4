// Checks of config.json's values, one field at a time: each reads a value of the type it names or
// records one problem, "<prefix><field>: <why>" (only the first is kept), and returns false.
// nlohmann::json is read only after its type is checked, so nothing throws.
#pragma once

#include <stdint.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tsswarm {

using json = nlohmann::json;

class JsonFields {
 public:
  JsonFields(std::string& problem, std::string prefix) : problem_(problem), prefix_(std::move(prefix)) {}
  bool fail(const std::string& field, const std::string& why) {
    if (problem_.empty()) problem_ = prefix_ + field + ": " + why;
    return false;
  }
  // A problem that already names its field (made by a parser of a part, such as linux.seccomp).
  bool failWith(const std::string& problem) {
    if (problem_.empty()) problem_ = prefix_ + problem;
    return false;
  }
  bool ok() const { return problem_.empty(); }

  bool str(const json& j, const std::string& field, std::string& out) {
    if (!j.is_string()) return fail(field, "must be a string");
    out = j.get<std::string>();
    if (out.find('\0') != std::string::npos) return fail(field, "must not contain NUL");
    return true;
  }
  bool boolean(const json& j, const std::string& field, bool& out) {
    if (!j.is_boolean()) return fail(field, "must be true or false");
    out = j.get<bool>();
    return true;
  }
  bool u32(const json& j, const std::string& field, uint32_t& out) {
    if (!j.is_number_integer() || j.get<int64_t>() < 0 || j.get<int64_t>() > 0xffffffffLL)
      return fail(field, "must be an integer from 0 to 4294967295");
    out = static_cast<uint32_t>(j.get<int64_t>());
    return true;
  }
  bool i64(const json& j, const std::string& field, int64_t& out) {
    if (!j.is_number_integer()) return fail(field, "must be an integer");
    out = j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : j.get<int64_t>();
    return true;
  }
  bool u64(const json& j, const std::string& field, uint64_t& out) {
    if (!j.is_number_integer() || (!j.is_number_unsigned() && j.get<int64_t>() < 0))
      return fail(field, "must be a non-negative integer");
    out = j.get<uint64_t>();
    return true;
  }
  bool strings(const json& j, const std::string& field, std::vector<std::string>& out) {
    if (!j.is_array()) return fail(field, "must be an array of strings");
    out.clear();
    for (size_t i = 0; i < j.size(); i++) {
      std::string s;
      if (!str(j[i], field + "[" + std::to_string(i) + "]", s)) return false;
      out.push_back(std::move(s));
    }
    return true;
  }
  bool object(const json& j, const std::string& field) {
    if (!j.is_object()) return fail(field, "must be an object");
    return true;
  }
  bool stringMap(const json& j, const std::string& field, std::map<std::string, std::string>& out) {
    if (!object(j, field)) return false;
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string v;
      if (!str(it.value(), field + "." + it.key(), v)) return false;
      out[it.key()] = v;
    }
    return true;
  }

  // A present, non-null member of an object, else nullptr (null counts as absent, like an omitted field).
  static const json* member(const json& j, const char* key) {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
  }

 private:
  std::string& problem_;
  std::string prefix_;
};


}  // namespace tsswarm
