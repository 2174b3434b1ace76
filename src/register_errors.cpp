#include <exception>

#include "common/errors.hpp"
#include "convert.hpp"

namespace radarcore::bind {

void RegisterErrors(py::module_& m) {
  (void)m;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ModelError& e) {
      py::object cls = py::module_::import("radarcore.errors").attr("ModelError");
      PyErr_SetString(cls.ptr(), e.what());
    } catch (const SchemaError& e) {
      py::object cls = py::module_::import("radarcore.errors").attr("SchemaError");
      PyErr_SetString(cls.ptr(), e.what());
    }
  });
}

}  // namespace radarcore::bind
