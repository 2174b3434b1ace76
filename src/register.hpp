// One Register<Area> function per area; module.cpp calls them in order.
#pragma once

#include <pybind11/pybind11.h>

namespace radarcore::bind {

namespace py = pybind11;

void RegisterForest(py::module_& m);
void RegisterRules(py::module_& m);
void RegisterFeatures(py::module_& m);
void RegisterPipeline(py::module_& m);
void RegisterMemory(py::module_& m);

}  // namespace radarcore::bind
