// Shared helpers for the bindings: exception translation into radarcore's Python error tree.
#pragma once

#include <pybind11/pybind11.h>

namespace radarcore::bind {

namespace py = pybind11;

// Translates radarcore C++ exceptions into the classes of radarcore.errors.
void RegisterErrors(py::module_& m);

}  // namespace radarcore::bind
