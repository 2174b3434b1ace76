#include "forest/model_format.hpp"

#include <array>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common/errors.hpp"

namespace radarcore {

namespace {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model format is written with memcpy and needs a little-endian target"
#endif

constexpr char kMagic[8] = {'R', 'C', 'F', 'O', 'R', 'E', 'S', 'T'};
constexpr std::uint32_t kHeader = 1;
constexpr std::uint32_t kNames = 2;
constexpr std::uint32_t kTrees = 3;
constexpr std::uint32_t kNodes = 4;
constexpr std::uint32_t kCategories = 5;

std::array<std::uint32_t, 256> MakeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

class Writer {
 public:
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const char*>(&value);
    out_.append(p, sizeof(T));
  }
  template <typename T>
  void PutArray(const std::vector<T>& values) {
    Put<std::uint64_t>(values.size());
    if (!values.empty()) {
      out_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
    }
  }
  void PutString(const std::string& s) {
    Put<std::uint64_t>(s.size());
    out_.append(s);
  }
  void Section(std::uint32_t tag, const Writer& body) {
    Put(tag);
    Put<std::uint64_t>(body.out_.size());
    out_.append(body.out_);
  }
  std::string& Bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size, const char* what)
      : data_(data), size_(size), what_(what) {}

  template <typename T>
  T Get() {
    Need(sizeof(T));
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  template <typename T>
  std::vector<T> GetArray() {
    const auto count = Get<std::uint64_t>();
    if (count > (size_ - pos_) / sizeof(T)) Truncated();
    std::vector<T> values(static_cast<std::size_t>(count));
    if (count != 0) std::memcpy(values.data(), data_ + pos_, values.size() * sizeof(T));
    pos_ += values.size() * sizeof(T);
    return values;
  }
  std::string GetString() {
    const auto length = Get<std::uint64_t>();
    if (length > size_ - pos_) Truncated();
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(length));
    pos_ += s.size();
    return s;
  }
  // The next section, which must carry the expected tag, as a reader over its bytes.
  Reader Section(std::uint32_t tag, const char* what) {
    const auto found = Get<std::uint32_t>();
    if (found != tag) {
      throw ModelError("model file: expected section " + std::to_string(tag) + " (" + what +
                       "), found " + std::to_string(found));
    }
    const auto length = Get<std::uint64_t>();
    if (length > size_ - pos_) Truncated();
    Reader section(data_ + pos_, static_cast<std::size_t>(length), what);
    pos_ += static_cast<std::size_t>(length);
    return section;
  }
  void ExpectEnd() const {
    if (pos_ != size_) {
      throw ModelError(std::string("model file: ") + std::to_string(size_ - pos_) +
                       " unexpected trailing bytes in the " + what_ + " section");
    }
  }

 private:
  void Need(std::size_t n) const {
    if (n > size_ - pos_) Truncated();
  }
  [[noreturn]] void Truncated() const {
    throw ModelError(std::string("model file is truncated or corrupted: the ") + what_ +
                     " section ends early");
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  const char* what_;
};

}  // namespace

std::uint32_t Crc32(const std::uint8_t* data, std::size_t size) {
  static const std::array<std::uint32_t, 256> table = MakeCrcTable();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < size; ++i) c = table[(c ^ data[i]) & 0xFFu] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string SerializeForest(const ForestSpec& spec) {
  Writer header;
  header.Put(spec.n_features);
  header.Put(static_cast<std::uint8_t>(spec.objective));
  header.Put(static_cast<std::uint8_t>(spec.split_rule));
  header.Put(spec.n_groups);
  header.Put(spec.sigmoid_scale);
  header.PutArray(spec.base_score);

  Writer names;
  names.Put<std::uint64_t>(spec.feature_names.size());
  for (const std::string& name : spec.feature_names) names.PutString(name);

  Writer trees;
  trees.PutArray(spec.tree_offsets);
  trees.PutArray(spec.tree_group);

  Writer nodes;
  nodes.PutArray(spec.left_child);
  nodes.PutArray(spec.right_child);
  nodes.PutArray(spec.split_feature);
  nodes.PutArray(spec.threshold);
  nodes.PutArray(spec.default_left);
  nodes.PutArray(spec.missing_type);
  nodes.PutArray(spec.is_categorical);
  nodes.PutArray(spec.leaf_value);
  nodes.PutArray(spec.cover);
  nodes.PutArray(spec.leaf_id);

  Writer categories;
  categories.PutArray(spec.cat_offsets);
  categories.PutArray(spec.cat_words);

  Writer body;
  body.Section(kHeader, header);
  body.Section(kNames, names);
  body.Section(kTrees, trees);
  body.Section(kNodes, nodes);
  body.Section(kCategories, categories);

  Writer file;
  file.Bytes().append(kMagic, sizeof(kMagic));
  file.Put(kModelFormatVersion);
  file.Put<std::uint64_t>(body.Bytes().size());
  file.Bytes().append(body.Bytes());
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(file.Bytes().data());
  file.Put(Crc32(bytes, file.Bytes().size()));
  return std::move(file.Bytes());
}

ForestSpec DeserializeForest(const std::uint8_t* data, std::size_t size) {
  if (size < sizeof(kMagic) || std::memcmp(data, kMagic, sizeof(kMagic)) != 0) {
    throw ModelError("not a radarcore model file: wrong magic bytes");
  }
  Reader file(data, size, "file header");
  for (std::size_t i = 0; i < sizeof(kMagic); ++i) file.Get<char>();
  const auto version = file.Get<std::uint32_t>();
  if (version != kModelFormatVersion) {
    throw ModelError("unsupported model format version " + std::to_string(version) +
                     " (this radarcore reads version " + std::to_string(kModelFormatVersion) +
                     ")");
  }
  const auto body_length = file.Get<std::uint64_t>();
  constexpr std::size_t kPrefix = sizeof(kMagic) + 4 + 8;
  if (body_length > size - kPrefix || size - kPrefix - body_length != 4) {
    throw ModelError("model file is truncated or corrupted: expected " +
                     std::to_string(kPrefix + body_length + 4) + " bytes, found " +
                     std::to_string(size));
  }
  std::uint32_t stored = 0;
  std::memcpy(&stored, data + size - 4, 4);
  if (Crc32(data, size - 4) != stored) {
    throw ModelError("model file is corrupted: checksum mismatch");
  }
  Reader body(data + kPrefix, static_cast<std::size_t>(body_length), "body");

  ForestSpec spec;
  Reader header = body.Section(kHeader, "header");
  spec.n_features = header.Get<std::int32_t>();
  spec.objective = static_cast<Objective>(header.Get<std::uint8_t>());
  spec.split_rule = static_cast<SplitRule>(header.Get<std::uint8_t>());
  spec.n_groups = header.Get<std::int32_t>();
  spec.sigmoid_scale = header.Get<double>();
  spec.base_score = header.GetArray<double>();
  header.ExpectEnd();

  Reader names = body.Section(kNames, "feature names");
  const auto n_names = names.Get<std::uint64_t>();
  for (std::uint64_t i = 0; i < n_names; ++i) spec.feature_names.push_back(names.GetString());
  names.ExpectEnd();

  Reader trees = body.Section(kTrees, "trees");
  spec.tree_offsets = trees.GetArray<std::int64_t>();
  spec.tree_group = trees.GetArray<std::int32_t>();
  trees.ExpectEnd();

  Reader nodes = body.Section(kNodes, "nodes");
  spec.left_child = nodes.GetArray<std::int32_t>();
  spec.right_child = nodes.GetArray<std::int32_t>();
  spec.split_feature = nodes.GetArray<std::int32_t>();
  spec.threshold = nodes.GetArray<double>();
  spec.default_left = nodes.GetArray<std::uint8_t>();
  spec.missing_type = nodes.GetArray<std::uint8_t>();
  spec.is_categorical = nodes.GetArray<std::uint8_t>();
  spec.leaf_value = nodes.GetArray<double>();
  spec.cover = nodes.GetArray<double>();
  spec.leaf_id = nodes.GetArray<std::int32_t>();
  nodes.ExpectEnd();

  Reader categories = body.Section(kCategories, "categories");
  spec.cat_offsets = categories.GetArray<std::int64_t>();
  spec.cat_words = categories.GetArray<std::uint32_t>();
  categories.ExpectEnd();
  body.ExpectEnd();
  return spec;
}

}  // namespace radarcore
