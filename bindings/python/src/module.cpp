// SPDX-License-Identifier: Apache-2.0
// The extension module agentcore._agentcore; the package agentcore (agentcore/__init__.py)
// re-exports it.

#include <agentcore/version.hpp>

#include "convert.hpp"
#include "modules.hpp"

PYBIND11_MODULE(_agentcore, m) {
  namespace python = agentcore::python;
  m.doc() = "libagentcore: Tymbal, mentions, state machines and the hub";
  python::LoadTypes();
  python::RegisterErrorTranslator();
  python::RegisterTymbal(m);
  python::RegisterMentions(m);
  python::RegisterState(m);
  python::RegisterHub(m);
  m.attr("__version__") = AGENTCORE_VERSION_STRING;
}
