// radarcore._core: the private compiled module. Every public name lives in python/radarcore.
#include <pybind11/pybind11.h>

#include "convert.hpp"
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "radarcore's compiled core (private; use the radarcore package).";
  radarcore::bind::RegisterErrors(m);
  radarcore::bind::RegisterForest(m);
  radarcore::bind::RegisterRules(m);
  radarcore::bind::RegisterFeatures(m);
  radarcore::bind::RegisterPipeline(m);
  radarcore::bind::RegisterMemory(m);
}
