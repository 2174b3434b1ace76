// Bindings for memory the core manages for Python callers (cpp/common/prefaulted_region).
#include <pybind11/pybind11.h>

#include <cstdint>

#include "common/prefaulted_region.hpp"
#include "register.hpp"

namespace radarcore::bind {

void RegisterMemory(py::module_& m) {
  py::class_<PrefaultedRegion>(m, "PrefaultedRegion", py::buffer_protocol(), R"doc(
A zero-filled, writable buffer of ``size`` bytes whose pages a background C++ thread faulted
in beforehand (``prefaulted``), so writing them costs the writer no page faults; the next region
of the same size is prepared when this one is taken (``prepare_next``). Use through
``memoryview``. Raises MemoryError when no memory can be mapped.)doc")
      .def(py::init<size_t, bool>(), py::arg("size"), py::arg("prepare_next") = true)
      .def_property_readonly("size", &PrefaultedRegion::size)
      .def_property_readonly("prefaulted", &PrefaultedRegion::prefaulted)
      .def_buffer([](PrefaultedRegion& region) {
        return py::buffer_info(region.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(region.size())}, {1});
      });
}

}  // namespace radarcore::bind
