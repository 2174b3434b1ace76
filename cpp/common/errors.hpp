// Error types thrown by the core. The bindings translate each into the matching Python class
// under radarcore.RadarError; std::invalid_argument becomes ValueError.
#pragma once

#include <stdexcept>
#include <string>

namespace radarcore {

// A model file or buffer that cannot be read: wrong magic, version, checksum, truncation, or a
// model whose structure is inconsistent.
class ModelError : public std::runtime_error {
 public:
  explicit ModelError(const std::string& what) : std::runtime_error(what) {}
};

// A compiled rule program or feature schema that the core rejects.
class SchemaError : public std::runtime_error {
 public:
  explicit SchemaError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace radarcore
