// SPDX-License-Identifier: Apache-2.0
#pragma once

// The parts of the extension module, each registering its functions and classes.

#include <pybind11/pybind11.h>

namespace agentcore::python {

void RegisterTymbal(pybind11::module_& m);
void RegisterMentions(pybind11::module_& m);
void RegisterState(pybind11::module_& m);
void RegisterHub(pybind11::module_& m);

}  // namespace agentcore::python
