// Bindings for the compiled rule program (cpp/rules): construction from plain Python tuples,
// single-payment and batch evaluation with the GIL released.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "register.hpp"
#include "rules/program.hpp"

namespace radarcore::bind {

namespace {

using LeafTuple = std::tuple<int, int, int32_t, int32_t, double, int32_t>;
using RuleTuple = std::tuple<int, bool, std::vector<std::pair<int, int32_t>>>;
using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
using I32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using U8 = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

Program MakeProgram(int32_t numeric_slots, int32_t string_slots,
                    const std::vector<LeafTuple>& leaves, const std::vector<RuleTuple>& rules,
                    std::vector<std::string> strings,
                    const std::vector<std::vector<std::pair<std::string, int64_t>>>& string_sets,
                    std::vector<std::vector<double>> number_sets) {
  ProgramSpec spec;
  spec.numeric_slots = numeric_slots;
  spec.string_slots = string_slots;
  for (const auto& [kind, op, a, b, number, ref] : leaves) {
    spec.leaves.push_back({static_cast<LeafKind>(kind), static_cast<CmpOp>(op), a, b, number, ref});
  }
  for (const auto& [action, post_authorization, code] : rules) {
    RuleCode rule;
    rule.action = static_cast<RuleAction>(action);
    rule.post_authorization = post_authorization;
    for (const auto& [op, leaf] : code) rule.code.push_back({static_cast<OpCode>(op), leaf});
    spec.rules.push_back(std::move(rule));
  }
  spec.strings = std::move(strings);
  for (const auto& items : string_sets) {
    std::vector<StringSetItem> set;
    for (const auto& [value, expires_at] : items) set.push_back({value, expires_at});
    spec.string_sets.push_back(std::move(set));
  }
  spec.number_sets = std::move(number_sets);
  return Program(std::move(spec));
}

py::tuple EvaluateOne(const Program& program, const F64& numeric,
                      const std::vector<std::optional<std::string>>& strings, int object,
                      int64_t at) {
  if (numeric.ndim() != 1 || numeric.shape(0) != program.numeric_slots()) {
    throw std::invalid_argument("numeric must hold " + std::to_string(program.numeric_slots()) +
                                " values");
  }
  if (strings.size() != static_cast<size_t>(program.string_slots())) {
    throw std::invalid_argument("strings must hold " + std::to_string(program.string_slots()) +
                                " values");
  }
  std::vector<std::string_view> views(strings.size());
  std::unique_ptr<bool[]> present(new bool[strings.size() + 1]);
  for (size_t i = 0; i < strings.size(); ++i) {
    present[i] = strings[i].has_value();
    if (present[i]) views[i] = *strings[i];
  }
  Decision d;
  {
    py::gil_scoped_release release;
    d = program.EvaluateOne({numeric.data(), views.data(), present.get()},
                            static_cast<ObjectKind>(object), at);
  }
  return py::make_tuple(static_cast<int>(d.verdict), d.rule, d.three_d_secure,
                        d.three_d_secure_rule);
}

py::tuple EvaluateMany(const Program& program, int64_t rows, const std::vector<F64>& numeric,
                       const std::vector<I32>& codes, const std::vector<I64>& offsets,
                       const std::vector<U8>& data, int object, int64_t at, bool with_matches) {
  if (rows < 0) throw std::invalid_argument("rows must be >= 0");
  if (numeric.size() != static_cast<size_t>(program.numeric_slots()) ||
      codes.size() != static_cast<size_t>(program.string_slots()) ||
      offsets.size() != codes.size() || data.size() != codes.size()) {
    throw std::invalid_argument("batch does not provide every slot of the rule program");
  }
  BatchView batch;
  batch.rows = rows;
  for (const F64& column : numeric) {
    if (column.ndim() != 1 || column.shape(0) != rows) {
      throw std::invalid_argument("every numeric column must hold " + std::to_string(rows) +
                                  " rows");
    }
    batch.numeric.push_back(column.data());
  }
  for (size_t s = 0; s < codes.size(); ++s) {
    if (codes[s].ndim() != 1 || codes[s].shape(0) != rows) {
      throw std::invalid_argument("every code column must hold " + std::to_string(rows) + " rows");
    }
    batch.codes.push_back(codes[s].data());
    // The dictionary is Arrow's large-string layout: entry i is data[offsets[i]:offsets[i+1]].
    const int64_t entries = offsets[s].ndim() == 1 ? offsets[s].shape(0) - 1 : -1;
    if (entries < 0) throw std::invalid_argument("dictionary offsets must be a 1-d array of n+1");
    const int64_t* off = offsets[s].data();
    const auto bytes = static_cast<int64_t>(data[s].size());
    const char* text = reinterpret_cast<const char*>(data[s].data());
    std::vector<std::string_view> views;
    views.reserve(static_cast<size_t>(entries));
    for (int64_t i = 0; i < entries; ++i) {
      if (off[i] < 0 || off[i] > off[i + 1] || off[i + 1] > bytes) {
        throw std::invalid_argument("dictionary offsets must rise within the data");
      }
      views.emplace_back(text + off[i], static_cast<size_t>(off[i + 1] - off[i]));
    }
    batch.dictionaries.push_back(std::move(views));
  }
  py::array_t<int8_t> verdict(rows);
  py::array_t<int32_t> rule(rows);
  py::array_t<bool> three_d_secure(rows);
  py::array_t<int32_t> three_d_secure_rule(rows);
  py::object matches = py::none();
  BatchOutput out{verdict.mutable_data(), rule.mutable_data(),
                  reinterpret_cast<uint8_t*>(three_d_secure.mutable_data()),
                  three_d_secure_rule.mutable_data(), nullptr};
  if (with_matches) {
    py::array_t<bool> m({static_cast<int64_t>(program.rule_count()), rows});
    out.matches = reinterpret_cast<uint8_t*>(m.mutable_data());
    matches = m;
  }
  {
    py::gil_scoped_release release;
    program.EvaluateMany(batch, static_cast<ObjectKind>(object), at, out);
  }
  return py::make_tuple(verdict, rule, three_d_secure, three_d_secure_rule, matches);
}

}  // namespace

void RegisterRules(py::module_& m) {
  // Plain `type` as the metaclass (no static properties here), so the stub's class matches.
  py::class_<Program>(m, "RuleProgram", py::metaclass(reinterpret_cast<PyObject*>(&PyType_Type)),
                      "A compiled rule set (built by radarcore.rules.compile; immutable).")
      .def(py::init(&MakeProgram), py::arg("numeric_slots"), py::arg("string_slots"),
           py::arg("leaves"), py::arg("rules"), py::arg("strings"), py::arg("string_sets"),
           py::arg("number_sets"))
      .def_property_readonly("numeric_slots", &Program::numeric_slots)
      .def_property_readonly("string_slots", &Program::string_slots)
      .def_property_readonly("rule_count", &Program::rule_count)
      .def("evaluate_one", &EvaluateOne, py::arg("numeric"), py::arg("strings"), py::arg("object"),
           py::arg("at"),
           "(verdict, rule, three_d_secure, three_d_secure_rule) for one payment.")
      .def("evaluate_many", &EvaluateMany, py::arg("rows"), py::arg("numeric"), py::arg("codes"),
           py::arg("offsets"), py::arg("data"), py::arg("object"), py::arg("at"),
           py::arg("with_matches"),
           "(verdict, rule, three_d_secure, three_d_secure_rule, matches or None) for a batch.");
}

}  // namespace radarcore::bind
