// SPDX-License-Identifier: Apache-2.0
// The only DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN of the project.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
