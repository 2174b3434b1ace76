// Bindings for the online pipeline (cpp/pipeline): one call takes a payment event from its
// mapping to the feature row, the string inputs of the rules and the live and shadow margins;
// a second decides it with the values the engine supplies (risk score and level, metadata).
// The payment then goes to FeatureExtractor.update as it is, packed once.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/base64.hpp"
#include "feature_extractor.hpp"
#include "features/row_codec.hpp"
#include "forest/forest.hpp"
#include "pipeline/assessor.hpp"
#include "register.hpp"
#include "rules/program.hpp"

namespace radarcore::bind {
namespace {

// One assessed payment: its packed event (so it is a PackedEvent for update and record_label),
// its feature row and the rules' string inputs.
struct PyAssessedPayment : PyPackedEvent {
  std::vector<double> row;
  std::vector<std::string> inputs;
  std::unique_ptr<bool[]> present;
};

bool IsAscii(const std::string& text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// Python's str.casefold, without a Python object when the text is ASCII (then it lower-cases
// A-Z and nothing else).
void CaseFold(std::string* text) {
  if (IsAscii(*text)) {
    for (char& c : *text) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return;
  }
  py::str folded = py::str(*text).attr("casefold")();
  *text = folded.cast<std::string>();
}

ScorerSpec Scorer(const py::object& forest, const std::optional<std::vector<int32_t>>& columns) {
  ScorerSpec spec;
  if (forest.is_none()) return spec;
  spec.forest = &forest.cast<const Forest&>();
  if (columns) spec.columns = *columns;
  return spec;
}

py::object Margin(bool has_forest, double margin) {
  if (!has_forest) return py::none();
  return py::float_(margin);
}

// The Assessor with what it points into: the extractor, the rule program and the forests are
// kept alive by the Python references held here.
class PyAssessor {
 public:
  PyAssessor(py::object extractor, py::object program, py::object live,
             std::optional<std::vector<int32_t>> live_columns, py::object shadow,
             std::optional<std::vector<int32_t>> shadow_columns,
             const std::vector<std::pair<int, int32_t>>& numeric_sources,
             const std::vector<std::pair<int, int32_t>>& string_sources,
             std::vector<std::pair<int32_t, bool>> string_inputs,
             std::vector<std::pair<int, double>> supplied_numeric,
             const std::vector<std::tuple<int, std::string, bool>>& supplied_strings)
      : extractor_object_(std::move(extractor)),
        program_object_(std::move(program)),
        live_object_(std::move(live)),
        shadow_object_(std::move(shadow)),
        extractor_(&extractor_object_.cast<PyFeatureExtractor&>()),
        string_inputs_(std::move(string_inputs)),
        supplied_numeric_(std::move(supplied_numeric)),
        supplied_strings_(Strings(supplied_strings)),
        core_(Spec(program_object_, live_object_, live_columns, shadow_object_, shadow_columns,
                   numeric_sources, string_sources)) {}

  // (payment, live margin or None, shadow margin or None); the velocity state is not changed.
  py::tuple Assess(const py::handle& event) {
    const EventInput input = ReadEvent(event);
    auto payment = std::make_unique<PyAssessedPayment>();
    payment->row.resize(FeatureExtractor::Columns().size());
    payment->inputs.resize(string_inputs_.size());
    payment->present.reset(new bool[string_inputs_.size() + 1]);
    double live = 0.0;
    double shadow = 0.0;
    bool fold_later = false;
    {
      py::gil_scoped_release release;
      extractor_->PackAndExtract(input.raw, &payment->packed, payment->row.data());
      for (size_t i = 0; i < string_inputs_.size(); ++i) {
        const auto& [attribute, fold] = string_inputs_[i];
        std::optional<std::string> value =
            FeatureExtractor::StringAttribute(static_cast<size_t>(attribute), input.raw);
        payment->present[i] = value.has_value();
        if (!value) continue;
        payment->inputs[i] = std::move(*value);
        if (fold) {
          if (IsAscii(payment->inputs[i])) {
            CaseFold(&payment->inputs[i]);
          } else {
            fold_later = true;
          }
        }
      }
      core_.Score(payment->row.data(), &live, &shadow);
    }
    if (fold_later) {
      for (size_t i = 0; i < string_inputs_.size(); ++i) {
        if (string_inputs_[i].second && payment->present[i]) CaseFold(&payment->inputs[i]);
      }
    }
    py::object handle = py::cast(std::move(payment));
    return py::make_tuple(handle, Margin(core_.has_live(), live), Margin(core_.has_shadow(), shadow));
  }

  // (verdict, rule, three_d_secure, three_d_secure_rule), as RuleProgram.evaluate_one, with
  // the engine's values: the risk score and level as the rules see them (None: missing) and
  // the payment's metadata (a mapping of str to str, or None).
  py::tuple Decide(const PyAssessedPayment& payment, std::optional<double> risk_score,
                   const std::optional<std::string>& risk_level, const py::object& metadata,
                   int object, int64_t at) const {
    if (payment.row.size() != FeatureExtractor::Columns().size() ||
        payment.inputs.size() != string_inputs_.size()) {
      throw py::value_error("the payment was assessed by an assessor of another layout");
    }
    const double missing = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> numeric(supplied_numeric_.size());
    for (size_t i = 0; i < numeric.size(); ++i) {
      const auto& [how, constant] = supplied_numeric_[i];
      numeric[i] = how == kRiskScore ? risk_score.value_or(missing) : constant;
    }
    // Metadata values stay referenced by `metadata` for the call; folded ones are copied.
    const size_t n = supplied_strings_.size();
    std::vector<std::string_view> views(n);
    std::vector<std::string> folded(n);
    std::unique_ptr<bool[]> present(new bool[n + 1]);
    for (size_t i = 0; i < n; ++i) {
      const SuppliedString& supplied = supplied_strings_[i];
      present[i] = false;
      if (supplied.how == kRiskLevel) {
        if (!risk_level) continue;
        folded[i] = *risk_level;
      } else if (supplied.how == kMetadata) {
        if (metadata.is_none()) continue;
        py::object value = metadata.attr("get")(supplied.key);
        if (value.is_none()) continue;
        if (!PyUnicode_Check(value.ptr())) {
          throw py::type_error("'" + supplied.source + "' holds strings, got " +
                               std::string(py::str(py::type::of(value).attr("__name__"))));
        }
        folded[i] = value.cast<std::string>();
      } else {
        continue;
      }
      if (supplied.fold) CaseFold(&folded[i]);
      present[i] = true;
      views[i] = folded[i];
    }
    std::vector<std::string_view> inputs(payment.inputs.begin(), payment.inputs.end());
    Decision d;
    {
      py::gil_scoped_release release;
      d = core_.Decide(payment.row.data(), {inputs.data(), payment.present.get()}, numeric.data(),
                       {views.data(), present.get()}, static_cast<ObjectKind>(object), at);
    }
    return py::make_tuple(static_cast<int>(d.verdict), d.rule, d.three_d_secure,
                          d.three_d_secure_rule);
  }

 private:
  AssessorSpec Spec(const py::object& program, const py::object& live,
                    const std::optional<std::vector<int32_t>>& live_columns,
                    const py::object& shadow,
                    const std::optional<std::vector<int32_t>>& shadow_columns,
                    const std::vector<std::pair<int, int32_t>>& numeric_sources,
                    const std::vector<std::pair<int, int32_t>>& string_sources) const {
    const auto n_attributes = static_cast<int32_t>(FeatureExtractor::StringAttributes().size());
    for (const auto& [attribute, fold] : string_inputs_) {
      if (attribute < 0 || attribute >= n_attributes) {
        throw py::value_error("string input " + std::to_string(attribute) +
                              " is not a string attribute");
      }
    }
    for (const auto& [how, constant] : supplied_numeric_) {
      if (how != kConstant && how != kRiskScore) {
        throw py::value_error("a supplied number is a constant or the risk score, got kind " +
                              std::to_string(how));
      }
    }
    AssessorSpec spec;
    spec.row_width = static_cast<int32_t>(FeatureExtractor::Columns().size());
    spec.live = Scorer(live, live_columns);
    spec.shadow = Scorer(shadow, shadow_columns);
    spec.program = &program.cast<const Program&>();
    for (const auto& [kind, index] : numeric_sources) {
      spec.numeric.push_back({static_cast<SlotSourceKind>(kind), index});
    }
    for (const auto& [kind, index] : string_sources) {
      spec.strings.push_back({static_cast<SlotSourceKind>(kind), index});
    }
    spec.string_inputs = static_cast<int32_t>(string_inputs_.size());
    spec.supplied_numeric = static_cast<int32_t>(supplied_numeric_.size());
    spec.supplied_strings = static_cast<int32_t>(supplied_strings_.size());
    return spec;
  }

  // What the engine supplies (radar.py's _RulePlan): a constant (numbers: the value; strings:
  // missing), the risk score or level, or a metadata value.
  static constexpr int kConstant = 0;
  static constexpr int kRiskScore = 1;
  static constexpr int kRiskLevel = 1;
  static constexpr int kMetadata = 2;

  struct SuppliedString {
    int how = kConstant;
    py::str key;         // metadata key
    std::string source;  // ::key::, for errors
    bool fold = false;
  };

  static std::vector<SuppliedString> Strings(
      const std::vector<std::tuple<int, std::string, bool>>& specs) {
    std::vector<SuppliedString> out;
    for (const auto& [how, key, fold] : specs) {
      if (how != kConstant && how != kRiskLevel && how != kMetadata) {
        throw py::value_error(
            "a supplied string is a constant, the risk level or a metadata value, got kind " +
            std::to_string(how));
      }
      out.push_back({how, py::str(key), "::" + key + "::", fold});
    }
    return out;
  }

  py::object extractor_object_;
  py::object program_object_;
  py::object live_object_;
  py::object shadow_object_;
  PyFeatureExtractor* extractor_;
  std::vector<std::pair<int32_t, bool>> string_inputs_;
  std::vector<std::pair<int, double>> supplied_numeric_;
  std::vector<SuppliedString> supplied_strings_;
  Assessor core_;
};

}  // namespace

void RegisterPipeline(py::module_& m) {
  py::class_<PyAssessedPayment, PyPackedEvent>(
      m, "AssessedPayment", py::metaclass(reinterpret_cast<PyObject*>(&PyType_Type)),
      "One payment an Assessor assessed: its packed event, feature row and rule inputs.")
      .def_property_readonly("row",
                             [](const PyAssessedPayment& p) {
                               py::array_t<double> row(static_cast<py::ssize_t>(p.row.size()));
                               std::copy(p.row.begin(), p.row.end(), row.mutable_data());
                               return row;
                             })
      .def("packed_row_text",
           [](const PyAssessedPayment& p) {
             return py::str(Base64(PackRow(p.row.data(), p.row.size())));
           },
           "The feature row as _core.pack_row packs it.");
  py::class_<PyAssessor>(m, "Assessor", py::metaclass(reinterpret_cast<PyObject*>(&PyType_Type)),
                         "The online pipeline of one payment (built by radarcore.radar).")
      .def(py::init<py::object, py::object, py::object, std::optional<std::vector<int32_t>>,
                    py::object, std::optional<std::vector<int32_t>>,
                    const std::vector<std::pair<int, int32_t>>&,
                    const std::vector<std::pair<int, int32_t>>&,
                    std::vector<std::pair<int32_t, bool>>, std::vector<std::pair<int, double>>,
                    const std::vector<std::tuple<int, std::string, bool>>&>(),
           py::arg("extractor"), py::arg("program"), py::arg("live"), py::arg("live_columns"),
           py::arg("shadow"), py::arg("shadow_columns"), py::arg("numeric_sources"),
           py::arg("string_sources"), py::arg("string_inputs"), py::arg("supplied_numeric"),
           py::arg("supplied_strings"))
      .def("assess", &PyAssessor::Assess, py::arg("event"))
      .def("decide", &PyAssessor::Decide, py::arg("payment"), py::arg("risk_score"),
           py::arg("risk_level"), py::arg("metadata"), py::arg("object"), py::arg("at"));
}

}  // namespace radarcore::bind
