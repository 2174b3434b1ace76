#include "common/cpu.hpp"
#include "register.hpp"

namespace radarcore::bind {

void RegisterForest(py::module_& m) {
  m.def("describe_cpu", &DescribeCpu, "The CPU features the core detected at run time.");
}

}  // namespace radarcore::bind
