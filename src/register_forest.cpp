#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/cpu.hpp"
#include "forest/forest.hpp"
#include "forest/model_format.hpp"
#include "register.hpp"

namespace radarcore::bind {

namespace {

template <typename T>
std::vector<T> ToVector(const py::array_t<T, py::array::c_style | py::array::forcecast>& a,
                        const char* name) {
  if (a.ndim() != 1) throw py::value_error(std::string(name) + " must be a 1-D array");
  return std::vector<T>(a.data(), a.data() + a.size());
}

Forest MakeForest(std::int32_t n_features, std::vector<std::string> feature_names,
                  std::uint8_t objective, std::uint8_t split_rule, std::int32_t n_groups,
                  double sigmoid_scale, const py::array_t<double>& base_score,
                  const py::array_t<std::int64_t>& tree_offsets,
                  const py::array_t<std::int32_t>& tree_group,
                  const py::array_t<std::int32_t>& left_child,
                  const py::array_t<std::int32_t>& right_child,
                  const py::array_t<std::int32_t>& split_feature,
                  const py::array_t<double>& threshold,
                  const py::array_t<std::uint8_t>& default_left,
                  const py::array_t<std::uint8_t>& missing_type,
                  const py::array_t<std::uint8_t>& is_categorical,
                  const py::array_t<double>& leaf_value, const py::array_t<double>& cover,
                  const py::array_t<std::int32_t>& leaf_id,
                  const py::array_t<std::int64_t>& cat_offsets,
                  const py::array_t<std::uint32_t>& cat_words) {
  ForestSpec s;
  s.n_features = n_features;
  s.feature_names = std::move(feature_names);
  s.objective = static_cast<Objective>(objective);
  s.split_rule = static_cast<SplitRule>(split_rule);
  s.n_groups = n_groups;
  s.sigmoid_scale = sigmoid_scale;
  s.base_score = ToVector<double>(base_score, "base_score");
  s.tree_offsets = ToVector<std::int64_t>(tree_offsets, "tree_offsets");
  s.tree_group = ToVector<std::int32_t>(tree_group, "tree_group");
  s.left_child = ToVector<std::int32_t>(left_child, "left_child");
  s.right_child = ToVector<std::int32_t>(right_child, "right_child");
  s.split_feature = ToVector<std::int32_t>(split_feature, "split_feature");
  s.threshold = ToVector<double>(threshold, "threshold");
  s.default_left = ToVector<std::uint8_t>(default_left, "default_left");
  s.missing_type = ToVector<std::uint8_t>(missing_type, "missing_type");
  s.is_categorical = ToVector<std::uint8_t>(is_categorical, "is_categorical");
  s.leaf_value = ToVector<double>(leaf_value, "leaf_value");
  s.cover = ToVector<double>(cover, "cover");
  s.leaf_id = ToVector<std::int32_t>(leaf_id, "leaf_id");
  s.cat_offsets = ToVector<std::int64_t>(cat_offsets, "cat_offsets");
  s.cat_words = ToVector<std::uint32_t>(cat_words, "cat_words");
  py::gil_scoped_release release;
  return Forest(std::move(s));
}

Forest FromBytes(const py::bytes& data) {
  const std::string_view view = data;
  py::gil_scoped_release release;
  return Forest(DeserializeForest(reinterpret_cast<const std::uint8_t*>(view.data()), view.size()));
}

py::bytes ToBytes(const Forest& f) {
  std::string bytes;
  {
    py::gil_scoped_release release;
    bytes = SerializeForest(f.Spec());
  }
  return py::bytes(bytes);
}

template <typename T>
MatrixView<T> View(const py::array& x, const Forest& f) {
  const auto item = static_cast<py::ssize_t>(sizeof(T));
  if (x.strides(0) % item != 0 || x.strides(1) % item != 0) {
    throw py::value_error("X strides must be multiples of the item size; pass a contiguous array");
  }
  if (x.shape(1) != f.NumFeatures()) {
    throw py::value_error("X has " + std::to_string(x.shape(1)) + " columns but the model expects " +
                          std::to_string(f.NumFeatures()) + " features");
  }
  return MatrixView<T>{static_cast<const T*>(x.data()), x.shape(0), x.shape(1),
                       x.strides(0) / item, x.strides(1) / item};
}

void CheckMatrix(const py::array& x, int n_threads) {
  if (x.ndim() != 2) {
    throw py::value_error("X must be a 2-D array, got " + std::to_string(x.ndim()) + " dimensions");
  }
  if (n_threads < 1) throw py::value_error("n_threads must be at least 1");
}

bool IsNative(const py::array& x, char kind, py::ssize_t size) {
  const py::dtype d = x.dtype();
  return d.kind() == kind && d.itemsize() == size && d.byteorder() != '>';
}

// Calls fn(view) with the typed view of a float32 or float64 matrix, without the GIL.
template <typename Fn>
void WithMatrix(const py::array& x, const Forest& f, int n_threads, Fn&& fn) {
  CheckMatrix(x, n_threads);
  if (IsNative(x, 'f', 4)) {
    const MatrixView<float> view = View<float>(x, f);
    py::gil_scoped_release release;
    fn(view);
  } else if (IsNative(x, 'f', 8)) {
    const MatrixView<double> view = View<double>(x, f);
    py::gil_scoped_release release;
    fn(view);
  } else {
    throw py::type_error("X must be a float32 or float64 array in native byte order, got " +
                         std::string(py::str(x.dtype())));
  }
}

py::array_t<double> Predict(const Forest& f, const py::array& x, bool raw, int n_threads) {
  py::array_t<double> out({x.ndim() == 2 ? x.shape(0) : 0, static_cast<py::ssize_t>(f.NumGroups())});
  double* dst = out.mutable_data();
  WithMatrix(x, f, n_threads, [&](const auto& view) { f.PredictMany(view, raw, n_threads, dst); });
  return out;
}

py::array_t<double> Contributions(const Forest& f, const py::array& x, int n_threads) {
  const py::ssize_t width = static_cast<py::ssize_t>(f.NumGroups()) * (f.NumFeatures() + 1);
  py::array_t<double> out({x.ndim() == 2 ? x.shape(0) : 0, width});
  double* dst = out.mutable_data();
  WithMatrix(x, f, n_threads, [&](const auto& view) { f.ContributionsMany(view, n_threads, dst); });
  return out;
}

py::array_t<std::int32_t> Leaves(const Forest& f, const py::array& x, int n_threads) {
  py::array_t<std::int32_t> out({x.ndim() == 2 ? x.shape(0) : 0, static_cast<py::ssize_t>(f.NumTrees())});
  std::int32_t* dst = out.mutable_data();
  WithMatrix(x, f, n_threads, [&](const auto& view) { f.LeavesMany(view, n_threads, dst); });
  return out;
}

[[noreturn]] void WrongLength(const Forest& f, py::ssize_t got) {
  throw py::value_error("row has " + std::to_string(got) + " values but the model expects " +
                        std::to_string(f.NumFeatures()) + " features");
}

// One payment: a float64 1-D array is read in place; lists and tuples are read item by item;
// anything else goes through numpy. Returns a float, or an array for multiclass models.
py::object ScoreOne(const Forest& f, const py::handle& row, bool raw) {
  const std::int32_t nf = f.NumFeatures();
  double small[64];
  std::vector<double> large;
  double* values = small;
  if (nf > 64) {
    large.resize(static_cast<std::size_t>(nf));
    values = large.data();
  }
  const double* data = values;
  py::array converted;
  if (PyList_Check(row.ptr()) || PyTuple_Check(row.ptr())) {
    const py::ssize_t n = PySequence_Fast_GET_SIZE(row.ptr());
    if (n != nf) WrongLength(f, n);
    PyObject** items = PySequence_Fast_ITEMS(row.ptr());
    for (py::ssize_t i = 0; i < n; ++i) {
      const double v = PyFloat_AsDouble(items[i]);
      if (v == -1.0 && PyErr_Occurred() != nullptr) {
        PyErr_Clear();
        throw py::type_error("row value " + std::to_string(i) + " is not a number: " +
                             std::string(py::repr(items[i])));
      }
      values[i] = v;
    }
  } else {
    py::array a = py::isinstance<py::array>(row) ? py::reinterpret_borrow<py::array>(row)
                                                 : py::array(py::module_::import("numpy").attr("asarray")(row));
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
      throw py::type_error("row must hold numbers, got dtype " + std::string(py::str(a.dtype())));
    }
    if (a.ndim() != 1) {
      throw py::value_error("row must be 1-D, got " + std::to_string(a.ndim()) + " dimensions");
    }
    if (a.shape(0) != nf) WrongLength(f, a.shape(0));
    if (!IsNative(a, 'f', 8) || (a.flags() & py::array::c_style) == 0) {
      a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    }
    converted = a;
    data = static_cast<const double*>(converted.data());
  }
  const std::int32_t ng = f.NumGroups();
  if (ng == 1) {
    double out = 0;
    {
      py::gil_scoped_release release;
      f.PredictOne(data, raw, &out);
    }
    return py::float_(out);
  }
  py::array_t<double> out(ng);
  double* dst = out.mutable_data();
  {
    py::gil_scoped_release release;
    f.PredictOne(data, raw, dst);
  }
  return std::move(out);
}

}  // namespace

void RegisterForest(py::module_& m) {
  m.def("describe_cpu", &DescribeCpu, "The CPU features the core detected at run time.");
  m.def("hardware_threads", [] { return std::max(1u, std::thread::hardware_concurrency()); },
        "The number of hardware threads (at least 1).");
  py::class_<Forest>(m, "Forest", "A compiled, immutable tree ensemble (see radarcore.Forest).")
      .def(py::init(&MakeForest), py::kw_only(), py::arg("n_features"), py::arg("feature_names"),
           py::arg("objective"), py::arg("split_rule"), py::arg("n_groups"),
           py::arg("sigmoid_scale"), py::arg("base_score"), py::arg("tree_offsets"),
           py::arg("tree_group"), py::arg("left_child"), py::arg("right_child"),
           py::arg("split_feature"), py::arg("threshold"), py::arg("default_left"),
           py::arg("missing_type"), py::arg("is_categorical"), py::arg("leaf_value"),
           py::arg("cover"), py::arg("leaf_id"), py::arg("cat_offsets"), py::arg("cat_words"))
      .def_static("from_bytes", &FromBytes, py::arg("data"))
      .def("to_bytes", &ToBytes)
      .def_property_readonly("n_features", &Forest::NumFeatures)
      .def_property_readonly("n_groups", &Forest::NumGroups)
      .def_property_readonly("n_trees", &Forest::NumTrees)
      .def_property_readonly("feature_names",
                             [](const Forest& f) { return f.Spec().feature_names; })
      .def_property_readonly(
          "objective", [](const Forest& f) { return static_cast<int>(f.Spec().objective); })
      .def_property_readonly(
          "split_rule", [](const Forest& f) { return static_cast<int>(f.Spec().split_rule); })
      .def_property_readonly("sigmoid_scale", [](const Forest& f) { return f.Spec().sigmoid_scale; })
      .def_property_readonly("base_score", [](const Forest& f) { return f.Spec().base_score; })
      .def("predict", &Predict, py::arg("x"), py::arg("raw"), py::arg("n_threads"))
      .def("score_one", &ScoreOne, py::arg("row"), py::arg("raw") = false)
      .def("contributions", &Contributions, py::arg("x"), py::arg("n_threads"))
      .def("leaves", &Leaves, py::arg("x"), py::arg("n_threads"));
}

}  // namespace radarcore::bind
