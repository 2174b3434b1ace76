// The feature extractor's binding, shared by register_features.cpp (which defines it) and the
// online pipeline (register_pipeline.cpp): reading one event from Python, the extractor with
// its lock, and an event packed once for the calls that follow a payment's decision.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "features/extractor.hpp"

namespace radarcore::bind {

namespace py = pybind11;

// One event read from Python: views into string objects that `keep` holds references to.
struct EventInput {
  RawEvent raw;
  std::array<py::object, kNumStringFields> keep;
  py::object lists;  // pack_one's lists when the event took the checked path
};

// Reads one event. A dict whose values are all plain (str, int, float, bool or None, as
// radarcore.events.pack_one takes them without conversion) is read in place; any other event
// goes through pack_one, which checks and converts each value (and raises its errors).
EventInput ReadEvent(const py::handle& event);

// An event packed by the extractor (`FeatureExtractor.pack`, or a payment an Assessor
// assessed): what update and record_label take instead of the mapping, so a payment is read
// and packed once.
struct PyPackedEvent {
  PackedEvent packed;
};

Outcome ParseOutcome(const std::string& text);
Label ParseLabel(const std::string& text);

// Memory for the matrices extract_many returns when no `out=` buffer is given. A new matrix
// of a chunk-sized batch is ~220 MB, and taking fresh pages for each (the kernel maps and
// zeroes them) cost about a tenth of a chunked replay; so once Python drops a matrix, its
// memory is kept (one block, of at most kMaxKeptBytes) and the next matrix of at most its size
// and at least half of it is made on it. Every element of a returned matrix is written by the
// extraction, so nothing of an earlier matrix shows through. Shared with the matrices' owners,
// so it outlives whichever of the extractor and its matrices goes last.
class MatrixRecycler {
 public:
  // Matrices smaller than this come from numpy's allocator as usual, and the memory of larger
  // ones than kMaxKeptBytes (a one-off batch of millions of rows) is not kept once dropped.
  static constexpr size_t kMinBytes = size_t{1} << 22;
  static constexpr size_t kMaxKeptBytes = size_t{1} << 28;
  static py::array_t<double> New(const std::shared_ptr<MatrixRecycler>& self, py::ssize_t rows,
                                 py::ssize_t width);

 private:
  struct Owner;
  std::mutex mutex_;
  LargeBlock spare_;
  size_t spare_bytes_ = 0;
};

// The extractor with its lock: calls are serialised, so Python threads may share one.
class PyFeatureExtractor {
 public:
  PyFeatureExtractor(const std::vector<std::tuple<std::string, int, double>>& currencies,
                     const std::vector<std::string>& disposable_domains,
                     const std::vector<std::string>& anonymous_ips, int64_t ttl_seconds);

  PyPackedEvent Pack(const py::handle& event);
  // `event` is a mapping or a PackedEvent (ExtractOne, Update, RecordLabel).
  py::array_t<double> ExtractOne(const py::handle& event);
  void Update(const py::handle& event, const std::optional<std::string>& outcome);
  void RecordLabel(const py::handle& event, const std::string& label, std::optional<int64_t> at);
  py::list StringAttributesOne(const py::handle& event);

  py::array_t<double> ExtractMany(size_t rows, const py::list& s, const py::list& i,
                                  const py::list& f, const py::list& b, const py::object& order,
                                  bool update, const py::object& out_buffer);
  static py::list StringAttributesMany(size_t rows, const py::list& s, const py::list& i,
                                       const py::list& f, const py::list& b,
                                       const std::vector<size_t>& indices);

  py::bytes Snapshot();
  void Restore(const py::bytes& data);
  size_t Expire(int64_t now);
  size_t EntityCount();
  size_t MemoryBytes();
  int64_t Clock();

  // Packs `raw` into *packed and extracts its features into row (FeatureExtractor::Columns()
  // doubles) under the lock; the caller may release the GIL around it.
  void PackAndExtract(const RawEvent& raw, PackedEvent* packed, double* row);

 private:
  // The packed form of `event`: a PackedEvent as it is, a mapping read and packed.
  PackedEvent Packed(const py::handle& event);

  FeatureExtractor core_;
  PackScratch scratch_;
  std::mutex mutex_;
  std::shared_ptr<MatrixRecycler> matrices_ = std::make_shared<MatrixRecycler>();
};

}  // namespace radarcore::bind
