// Bindings for the feature extractor and its velocity state: one event as a mapping (or as
// lists in the field order of _core.event_fields() from radarcore.events.pack_one), a batch as
// Arrow-layout numpy buffers.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/base64.hpp"
#include "common/errors.hpp"
#include "feature_extractor.hpp"
#include "features/extractor.hpp"
#include "features/row_codec.hpp"
#include "features/user_agent.hpp"
#include "register.hpp"

namespace radarcore::bind {
namespace {

const char* KindName(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kNumeric:
      return "numeric";
    case ColumnKind::kBool:
      return "bool";
    case ColumnKind::kCategory:
      return "category";
    case ColumnKind::kString:
      return "string";
  }
  return "numeric";
}

py::list Specs(const std::vector<ColumnSpec>& specs) {
  py::list out;
  for (const ColumnSpec& s : specs) {
    out.append(py::make_tuple(s.name, KindName(s.kind), s.attribute, s.case_sensitive, s.source));
  }
  return out;
}

template <size_t N>
py::list Names(const std::array<const char*, N>& names) {
  py::list out;
  for (const char* name : names) out.append(name);
  return out;
}

void CheckLength(const py::list& list, size_t n, const char* what) {
  if (list.size() != n) {
    throw py::value_error(std::string("event ") + what + ": expected " + std::to_string(n) +
                          " values, got " + std::to_string(list.size()));
  }
}

// One event given as (strings, ints, floats, bools) lists; the views point into the Python
// objects, which the caller keeps alive for the duration of the call.
RawEvent ToRaw(const py::list& strings, const py::list& ints, const py::list& floats,
               const py::list& bools) {
  CheckLength(strings, kNumStringFields, "strings");
  CheckLength(ints, kNumIntFields, "ints");
  CheckLength(floats, kNumFloatFields, "floats");
  CheckLength(bools, kNumBoolFields, "bools");
  RawEvent raw;
  for (size_t f = 0; f < kNumStringFields; ++f) {
    PyObject* item = strings[f].ptr();
    if (item == Py_None) continue;
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(item, &size);
    if (data == nullptr) throw py::error_already_set();
    raw.has_string[f] = true;
    raw.strings[f] = std::string_view(data, static_cast<size_t>(size));
  }
  for (size_t f = 0; f < kNumIntFields; ++f) {
    if (ints[f].is_none()) continue;
    raw.has_int[f] = true;
    raw.ints[f] = ints[f].cast<int64_t>();
  }
  for (size_t f = 0; f < kNumFloatFields; ++f) raw.floats[f] = floats[f].cast<double>();
  for (size_t f = 0; f < kNumBoolFields; ++f) raw.bools[f] = bools[f].cast<int8_t>();
  return raw;
}


// A pointer into a caller-owned 1-d contiguous array of exactly dtype T (never a converted
// copy, which would not outlive this call), with at least `length` elements.
template <class T>
const T* Data(const py::handle& obj, size_t length, const char* what) {
  if (obj.is_none()) return nullptr;
  if (!py::isinstance<py::array>(obj)) {
    throw py::type_error(std::string("batch buffer ") + what + " must be a numpy array");
  }
  auto array = py::reinterpret_borrow<py::array>(obj);
  if (!array.dtype().is(py::dtype::of<T>()) || array.ndim() != 1 ||
      (array.flags() & py::array::c_style) == 0) {
    throw py::type_error(std::string("batch buffer ") + what + " must be a contiguous 1-d " +
                         std::string(py::str(py::dtype::of<T>())) + " array");
  }
  if (static_cast<size_t>(array.shape(0)) < length) {
    throw py::value_error(std::string("batch buffer ") + what + " is too short");
  }
  return static_cast<const T*>(array.data());
}

// A batch: (rows, strings, ints, floats, bools) where strings[f] is None or (offsets int64,
// data uint8, valid uint8 or None); ints[f] None or (values int64, valid uint8 or None);
// floats[f] None or float64; bools[f] None or int8 (-1 null). Arrays must be contiguous and
// of exactly these dtypes (events.py prepares them).
EventColumns ToColumns(size_t rows, const py::list& strings, const py::list& ints,
                       const py::list& floats, const py::list& bools) {
  CheckLength(strings, kNumStringFields, "strings");
  CheckLength(ints, kNumIntFields, "ints");
  CheckLength(floats, kNumFloatFields, "floats");
  CheckLength(bools, kNumBoolFields, "bools");
  EventColumns c;
  c.rows = rows;
  for (size_t f = 0; f < kNumStringFields; ++f) {
    if (strings[f].is_none()) continue;
    auto parts = strings[f].cast<py::tuple>();
    c.strings[f].offsets = Data<int64_t>(parts[0], rows + 1, kStringFieldNames[f]);
    const int64_t end = c.strings[f].offsets[rows];
    const auto* data = Data<uint8_t>(parts[1], static_cast<size_t>(std::max<int64_t>(end, 0)),
                                     kStringFieldNames[f]);
    for (size_t r = 0; r < rows; ++r) {
      if (c.strings[f].offsets[r] < 0 || c.strings[f].offsets[r + 1] < c.strings[f].offsets[r]) {
        throw py::value_error(std::string("batch buffer ") + kStringFieldNames[f] +
                              ": offsets out of order");
      }
    }
    c.strings[f].data = reinterpret_cast<const char*>(data);
    c.strings[f].valid = Data<uint8_t>(parts[2], rows, kStringFieldNames[f]);
  }
  for (size_t f = 0; f < kNumIntFields; ++f) {
    if (ints[f].is_none()) continue;
    auto parts = ints[f].cast<py::tuple>();
    c.ints[f] = Data<int64_t>(parts[0], rows, kIntFieldNames[f]);
    c.ints_valid[f] = Data<uint8_t>(parts[1], rows, kIntFieldNames[f]);
  }
  for (size_t f = 0; f < kNumFloatFields; ++f) {
    c.floats[f] = Data<double>(floats[f], rows, kFloatFieldNames[f]);
  }
  for (size_t f = 0; f < kNumBoolFields; ++f) {
    c.bools[f] = Data<int8_t>(bools[f], rows, kBoolFieldNames[f]);
  }
  return c;
}

// The field names as Python strings, made once (the dict lookups of every event use them).
struct FieldKeys {
  std::array<PyObject*, kNumStringFields> strings{};
  std::array<PyObject*, kNumIntFields> ints{};
  std::array<PyObject*, kNumFloatFields> floats{};
  std::array<PyObject*, kNumBoolFields> bools{};
};

template <size_t N>
void MakeKeys(const std::array<const char*, N>& names, std::array<PyObject*, N>* keys) {
  for (size_t f = 0; f < N; ++f) {
    (*keys)[f] = PyUnicode_InternFromString(names[f]);
    if ((*keys)[f] == nullptr) throw py::error_already_set();
  }
}

// Kept for the life of the process (the module is never unloaded).
const FieldKeys& Keys() {
  static const FieldKeys* keys = [] {
    auto* made = new FieldKeys;
    MakeKeys(kStringFieldNames, &made->strings);
    MakeKeys(kIntFieldNames, &made->ints);
    MakeKeys(kFloatFieldNames, &made->floats);
    MakeKeys(kBoolFieldNames, &made->bools);
    return made;
  }();
  return *keys;
}

// The value of `key` in a dict, or nullptr when absent.
PyObject* Lookup(PyObject* dict, PyObject* key) {
  PyObject* value = PyDict_GetItemWithError(dict, key);
  if (value == nullptr && PyErr_Occurred() != nullptr) throw py::error_already_set();
  return value;
}

// Reads a dict of plain values into *input; false (input partly filled) at the first value
// that is not of the plain type of its field, which pack_one must check and convert.
bool ReadPlain(PyObject* dict, EventInput* input) {
  const FieldKeys& keys = Keys();
  RawEvent& raw = input->raw;
  for (size_t f = 0; f < kNumStringFields; ++f) {
    PyObject* value = Lookup(dict, keys.strings[f]);
    if (value == nullptr || value == Py_None) continue;
    if (!PyUnicode_CheckExact(value)) return false;
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(value, &size);
    if (data == nullptr) throw py::error_already_set();
    input->keep[f] = py::reinterpret_borrow<py::object>(value);
    raw.has_string[f] = true;
    raw.strings[f] = std::string_view(data, static_cast<size_t>(size));
  }
  for (size_t f = 0; f < kNumIntFields; ++f) {
    PyObject* value = Lookup(dict, keys.ints[f]);
    if (value == nullptr || value == Py_None) continue;
    if (!PyLong_CheckExact(value)) return false;
    int overflow = 0;
    const long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow != 0) return false;
    if (number == -1 && PyErr_Occurred() != nullptr) throw py::error_already_set();
    raw.has_int[f] = true;
    raw.ints[f] = static_cast<int64_t>(number);
  }
  for (size_t f = 0; f < kNumFloatFields; ++f) {
    PyObject* value = Lookup(dict, keys.floats[f]);
    if (value == nullptr || value == Py_None) continue;
    if (!PyFloat_CheckExact(value)) return false;
    raw.floats[f] = PyFloat_AS_DOUBLE(value);
  }
  for (size_t f = 0; f < kNumBoolFields; ++f) {
    PyObject* value = Lookup(dict, keys.bools[f]);
    if (value == nullptr || value == Py_None) continue;
    if (value == Py_True) {
      raw.bools[f] = 1;
    } else if (value == Py_False) {
      raw.bools[f] = 0;
    } else {
      return false;
    }
  }
  return true;
}

// The caller's buffer (reused across batches, so its pages are not allocated and zeroed again
// for every batch), checked to have exactly the (rows, width) layout.
py::array_t<double> OutputBuffer(const py::object& buffer, py::ssize_t rows,
                                 py::ssize_t width) {
  const std::string expected = "out: must be a writeable C-contiguous float64 array of shape (" +
                               std::to_string(rows) + ", " + std::to_string(width) + ")";
  if (!py::isinstance<py::array>(buffer)) {
    throw SchemaError(expected + ", got " + std::string(py::str(py::type::of(buffer).attr("__name__"))));
  }
  auto array = py::reinterpret_borrow<py::array>(buffer);
  if (!array.dtype().is(py::dtype::of<double>()) || array.ndim() != 2 ||
      array.shape(0) != rows || array.shape(1) != width ||
      (array.flags() & py::array::c_style) == 0 || !array.writeable()) {
    throw SchemaError(expected + ", got " + std::string(py::str(array.dtype())) + " " +
                      std::string(py::str(array.attr("shape"))));
  }
  return py::reinterpret_borrow<py::array_t<double>>(buffer);
}

}  // namespace

struct MatrixRecycler::Owner {
  std::shared_ptr<MatrixRecycler> recycler;
  LargeBlock block;
  size_t bytes;
};

py::array_t<double> MatrixRecycler::New(const std::shared_ptr<MatrixRecycler>& self,
                                        py::ssize_t rows, py::ssize_t width) {
  const size_t bytes = static_cast<size_t>(rows) * static_cast<size_t>(width) * sizeof(double);
  if (bytes < kMinBytes) return py::array_t<double>({rows, width});
  auto owner = std::make_unique<Owner>(Owner{self, nullptr, bytes});
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    if (self->spare_ != nullptr && self->spare_bytes_ >= bytes && self->spare_bytes_ / 2 <= bytes) {
      owner->block = std::move(self->spare_);
      owner->bytes = self->spare_bytes_;
    }
  }
  if (owner->block == nullptr) owner->block = AllocateLarge(bytes);
  auto* data = reinterpret_cast<double*>(owner->block.get());
  // The capsule gives the block back when numpy frees the matrix; the newest block is kept.
  py::capsule base(owner.get(), [](void* p) {
    std::unique_ptr<Owner> released(static_cast<Owner*>(p));
    if (released->bytes > kMaxKeptBytes) return;
    MatrixRecycler& recycler = *released->recycler;
    std::lock_guard<std::mutex> lock(recycler.mutex_);
    recycler.spare_ = std::move(released->block);
    recycler.spare_bytes_ = released->bytes;
  });
  owner.release();  // the capsule owns it now
  return py::array_t<double>({rows, width}, data, base);
}

namespace {

PackerTables Tables(const std::vector<std::tuple<std::string, int, double>>& currencies,
                           const std::vector<std::string>& disposable_domains,
                           const std::vector<std::string>& anonymous_ips) {
  PackerTables tables;
  for (const auto& [code, exponent, usd] : currencies) {
    tables.currencies.push_back(CurrencyRate{code, exponent, usd});
  }
  tables.disposable_domains = disposable_domains;
  tables.anonymous_ips = anonymous_ips;
  return tables;
}

VelocityConfig Config(int64_t ttl_seconds) {
  VelocityConfig config;
  config.ttl_seconds = ttl_seconds;
  return config;
}

}  // namespace

EventInput ReadEvent(const py::handle& event) {
  EventInput input;
  if (PyDict_CheckExact(event.ptr()) && ReadPlain(event.ptr(), &input)) return input;
  static const auto* pack_one =
      new py::object(py::module_::import("radarcore.events").attr("pack_one"));
  input = EventInput();
  input.lists = (*pack_one)(event);
  const auto parts = py::reinterpret_borrow<py::tuple>(input.lists);
  input.raw = ToRaw(parts[0].cast<py::list>(), parts[1].cast<py::list>(),
                    parts[2].cast<py::list>(), parts[3].cast<py::list>());
  return input;
}

Outcome ParseOutcome(const std::string& text) {
  if (text == "authorized") return Outcome::kAuthorized;
  if (text == "declined") return Outcome::kDeclined;
  if (text == "blocked") return Outcome::kBlocked;
  if (text == "pending") return Outcome::kPending;
  throw SchemaError("outcome: must be one of 'authorized', 'declined', 'blocked', 'pending', got '" +
                    text + "'");
}

Label ParseLabel(const std::string& text) {
  if (text == "authorized") return Label::kAuthorized;
  if (text == "declined") return Label::kDeclined;
  if (text == "refund") return Label::kRefund;
  if (text == "fraudulent_refund") return Label::kFraudulentRefund;
  if (text == "early_fraud_warning") return Label::kEarlyFraudWarning;
  if (text == "dispute") return Label::kDispute;
  if (text == "high_risk_block") return Label::kHighRiskBlock;
  throw SchemaError(
      "label: must be one of 'authorized', 'declined', 'refund', 'fraudulent_refund', "
      "'early_fraud_warning', 'dispute', 'high_risk_block', got '" + text + "'");
}

PyFeatureExtractor::PyFeatureExtractor(
    const std::vector<std::tuple<std::string, int, double>>& currencies,
    const std::vector<std::string>& disposable_domains,
    const std::vector<std::string>& anonymous_ips, int64_t ttl_seconds)
    : core_(Tables(currencies, disposable_domains, anonymous_ips), Config(ttl_seconds)) {}

void PyFeatureExtractor::PackAndExtract(const RawEvent& raw, PackedEvent* packed, double* row) {
  std::lock_guard<std::mutex> lock(mutex_);
  core_.packer().Pack(raw, packed, &scratch_);
  core_.ExtractOne(*packed, row);
}

PackedEvent PyFeatureExtractor::Packed(const py::handle& event) {
  if (py::isinstance<PyPackedEvent>(event)) return event.cast<const PyPackedEvent&>().packed;
  const EventInput input = ReadEvent(event);
  PackedEvent packed;
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  core_.packer().Pack(input.raw, &packed, &scratch_);
  return packed;
}

PyPackedEvent PyFeatureExtractor::Pack(const py::handle& event) { return {Packed(event)}; }

py::array_t<double> PyFeatureExtractor::ExtractOne(const py::handle& event) {
  py::array_t<double> row(static_cast<py::ssize_t>(FeatureExtractor::Columns().size()));
  double* out = row.mutable_data();
  if (py::isinstance<PyPackedEvent>(event)) {
    const PackedEvent& packed = event.cast<const PyPackedEvent&>().packed;
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    core_.ExtractOne(packed, out);
    return row;
  }
  const EventInput input = ReadEvent(event);
  {
    py::gil_scoped_release release;
    PackedEvent packed;
    PackAndExtract(input.raw, &packed, out);
  }
  return row;
}

void PyFeatureExtractor::Update(const py::handle& event,
                                const std::optional<std::string>& outcome) {
  const PackedEvent packed = Packed(event);
  Outcome result = packed.has_outcome ? packed.outcome : Outcome::kPending;
  if (outcome) result = ParseOutcome(*outcome);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  core_.Update(packed, result);
}

void PyFeatureExtractor::RecordLabel(const py::handle& event, const std::string& label,
                                     std::optional<int64_t> at) {
  const Label parsed = ParseLabel(label);
  const PackedEvent packed = Packed(event);
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  core_.RecordLabel(packed, parsed, at.value_or(packed.created));
}

py::list PyFeatureExtractor::StringAttributesOne(const py::handle& event) {
  const EventInput input = ReadEvent(event);
  {
    PackedEvent packed;  // validates the event
    std::lock_guard<std::mutex> lock(mutex_);
    core_.packer().Pack(input.raw, &packed, &scratch_);
  }
  py::list out;
  for (size_t k = 0; k < FeatureExtractor::StringAttributes().size(); ++k) {
    out.append(py::cast(FeatureExtractor::StringAttribute(k, input.raw)));
  }
  return out;
}

py::array_t<double> PyFeatureExtractor::ExtractMany(size_t rows, const py::list& s, const py::list& i,
                                const py::list& f, const py::list& b, const py::object& order,
                                bool update, const py::object& out_buffer) {
  const EventColumns columns = ToColumns(rows, s, i, f, b);
  const int64_t* sequence = Data<int64_t>(order, rows, "order");
  if (sequence != nullptr) {
    std::vector<uint8_t> seen(rows, 0);
    for (size_t k = 0; k < rows; ++k) {
      if (sequence[k] < 0 || static_cast<size_t>(sequence[k]) >= rows || seen[static_cast<size_t>(sequence[k])]) {
        throw py::value_error("order must be a permutation of the row numbers");
      }
      seen[static_cast<size_t>(sequence[k])] = 1;
    }
  }
  const auto width = static_cast<py::ssize_t>(FeatureExtractor::Columns().size());
  const auto n = static_cast<py::ssize_t>(rows);
  py::array_t<double> out = out_buffer.is_none() ? MatrixRecycler::New(matrices_, n, width)
                                                 : OutputBuffer(out_buffer, n, width);
  double* data = out.mutable_data();
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(mutex_);
    core_.ExtractMany(columns, sequence, update, data);
  }
  return out;
}

py::list PyFeatureExtractor::StringAttributesMany(size_t rows, const py::list& s, const py::list& i,
                                     const py::list& f, const py::list& b,
                                     const std::vector<size_t>& indices) {
  const EventColumns columns = ToColumns(rows, s, i, f, b);
  for (size_t index : indices) {
    if (index >= FeatureExtractor::StringAttributes().size()) {
      throw py::value_error("string attribute index " + std::to_string(index) +
                            " is out of range");
    }
  }
  std::vector<StringAttributeColumn> encoded;
  {
    py::gil_scoped_release release;
    encoded = FeatureExtractor::StringAttributesMany(columns, indices);
  }
  py::list out;
  for (const StringAttributeColumn& column : encoded) {
    py::array_t<int32_t> codes(static_cast<py::ssize_t>(column.codes.size()));
    std::copy(column.codes.begin(), column.codes.end(), codes.mutable_data());
    py::array_t<int64_t> offsets(static_cast<py::ssize_t>(column.offsets.size()));
    std::copy(column.offsets.begin(), column.offsets.end(), offsets.mutable_data());
    py::array_t<uint8_t> data(static_cast<py::ssize_t>(column.data.size()));
    std::copy(column.data.begin(), column.data.end(), data.mutable_data());
    out.append(py::make_tuple(codes, offsets, data));
  }
  return out;
}

py::bytes PyFeatureExtractor::Snapshot() {
  // Serialised straight into the bytes object (a snapshot is ~400 bytes per entity; a copy
  // through a vector faulted in and wrote every page twice).
  std::unique_lock<std::mutex> lock(mutex_);
  const size_t size = core_.state().SnapshotSize();
  PyObject* raw = PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(size));
  if (raw == nullptr) throw py::error_already_set();
  py::bytes bytes = py::reinterpret_steal<py::bytes>(raw);
  {
    py::gil_scoped_release release;
    core_.state().SnapshotInto(reinterpret_cast<uint8_t*>(PyBytes_AS_STRING(raw)));
    lock.unlock();  // before the GIL comes back: a thread holding the GIL may wait for it
  }
  return bytes;
}

void PyFeatureExtractor::Restore(const py::bytes& data) {
  const std::string_view view(data);
  py::gil_scoped_release release;
  VelocityState state =
      VelocityState::Restore(reinterpret_cast<const uint8_t*>(view.data()), view.size());
  std::lock_guard<std::mutex> lock(mutex_);
  core_.set_state(std::move(state));
}

size_t PyFeatureExtractor::Expire(int64_t now) {
  py::gil_scoped_release release;
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.state().Expire(now);
}

size_t PyFeatureExtractor::EntityCount() {
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.state().size();
}

size_t PyFeatureExtractor::MemoryBytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.state().MemoryBytes();
}

int64_t PyFeatureExtractor::Clock() {
  std::lock_guard<std::mutex> lock(mutex_);
  return core_.state().clock();
}

void RegisterFeatures(py::module_& m) {
  m.def("feature_columns", [] { return Specs(FeatureExtractor::Columns()); },
        "The feature row's columns: (name, kind, attribute, case_sensitive, source) tuples.");
  m.def("string_attribute_columns", [] { return Specs(FeatureExtractor::StringAttributes()); },
        "Radar's string attributes: (name, kind, attribute, case_sensitive, source) tuples.");
  m.def("event_fields", [] {
    py::dict out;
    out["strings"] = Names(kStringFieldNames);
    out["ints"] = Names(kIntFieldNames);
    out["floats"] = Names(kFloatFieldNames);
    out["bools"] = Names(kBoolFieldNames);
    return out;
  }, "The event fields by storage type, in the order the extractor takes them.");
  m.def("amount_currencies", [] { return Names(kAmountCurrencies); },
        "The currencies of the amount_in_xyz attributes.");
  m.def(
      "pack_row",
      [](const py::array_t<double, py::array::c_style | py::array::forcecast>& row) {
        if (row.ndim() != 1) {
          throw std::invalid_argument("a feature row is 1-D, got " + std::to_string(row.ndim()) +
                                      " dimensions");
        }
        return py::str(Base64(PackRow(row.data(), static_cast<size_t>(row.size()))));
      },
      py::arg("row"),
      "A feature row as text: its NaN and zero bitmaps, then its other values, base64-encoded.");
  m.def(
      "unpack_row",
      [](const py::bytes& packed, size_t width) {
        const std::string_view view = packed;
        py::array_t<double> row(static_cast<py::ssize_t>(width));
        UnpackRow(view, row.mutable_data(), width);
        return row;
      },
      py::arg("packed"), py::arg("width"), "The feature row pack_row packed.");
  m.def(
      "parse_user_agent",
      [](const std::string& user_agent) {
        const UserAgentInfo info = ParseUserAgent(user_agent);
        return py::make_tuple(FormatBrowser(info), FormatOperatingSystem(info), info.automated);
      },
      py::arg("user_agent"), "(browser, operating_system, automated) as the extractor reads them.");

  // Plain `type` metaclasses, so the classes match their stubs exactly.
  py::class_<PyPackedEvent>(m, "PackedEvent", py::metaclass(reinterpret_cast<PyObject*>(&PyType_Type)),
                            "An event packed by FeatureExtractor.pack (opaque).");
  py::class_<PyFeatureExtractor>(m, "FeatureExtractor",
                                 py::metaclass(reinterpret_cast<PyObject*>(&PyType_Type)))
      .def(py::init<const std::vector<std::tuple<std::string, int, double>>&,
                    const std::vector<std::string>&, const std::vector<std::string>&, int64_t>(),
           py::arg("currencies"), py::arg("disposable_domains"), py::arg("anonymous_ips"),
           py::arg("ttl_seconds"))
      .def("pack", &PyFeatureExtractor::Pack, py::arg("event"),
           "The event packed (validated) once, for update and record_label.")
      .def("extract_one", &PyFeatureExtractor::ExtractOne, py::arg("event"))
      .def("update", &PyFeatureExtractor::Update, py::arg("event"), py::arg("outcome"))
      .def("record_label", &PyFeatureExtractor::RecordLabel, py::arg("event"), py::arg("label"),
           py::arg("at"))
      .def("extract_many", &PyFeatureExtractor::ExtractMany, py::arg("rows"), py::arg("strings"),
           py::arg("ints"), py::arg("floats"), py::arg("bools"), py::arg("order"),
           py::arg("update"), py::arg("out") = py::none())
      .def("string_attributes_one", &PyFeatureExtractor::StringAttributesOne, py::arg("event"))
      .def_static("string_attributes_many", &PyFeatureExtractor::StringAttributesMany,
                  py::arg("rows"), py::arg("strings"), py::arg("ints"), py::arg("floats"),
                  py::arg("bools"), py::arg("indices"))
      .def("snapshot", &PyFeatureExtractor::Snapshot)
      .def("restore", &PyFeatureExtractor::Restore, py::arg("data"))
      .def("expire", &PyFeatureExtractor::Expire, py::arg("now"))
      .def_property_readonly("entity_count", &PyFeatureExtractor::EntityCount)
      .def_property_readonly("memory_bytes", &PyFeatureExtractor::MemoryBytes)
      .def_property_readonly("clock", &PyFeatureExtractor::Clock);
}

}  // namespace radarcore::bind
