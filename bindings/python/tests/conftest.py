# SPDX-License-Identifier: Apache-2.0
# The tests import the module built into <build>/python (scripts/run-tests.sh sets PYTHONPATH).
