"""acrnkit's pytest plugin (entry point ``pytest11: acrnkit``).

Options (group "acrnkit" in ``pytest --help``), markers ``acrn_hw``, ``acrn_version`` and
``acrn_feature``, and the fixtures ``acrn_target``, ``acrn_run_dir``, ``acrn_bin_dir``,
``acrn_vm``, ``acrn_vm_factory``, ``acrn_vm_argv``, ``acrn_record``, ``acrn_golden``,
``acrn_netns``, ``acrn_tap`` and ``acrn_tap_name``.
"""

from acrnkit.pytestplugin.fixtures import (
    acrn_bin_dir,
    acrn_golden,
    acrn_netns,
    acrn_options,
    acrn_record,
    acrn_run_dir,
    acrn_tap,
    acrn_tap_name,
    acrn_target,
    acrn_vm,
    acrn_vm_argv,
    acrn_vm_factory,
)
from acrnkit.pytestplugin.hooks import (
    _acrn_suite_properties,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_runtest_setup,
)

__all__ = [
    "_acrn_suite_properties", "acrn_bin_dir", "acrn_golden", "acrn_netns", "acrn_options",
    "acrn_record", "acrn_run_dir", "acrn_tap", "acrn_tap_name", "acrn_target", "acrn_vm",
    "acrn_vm_argv", "acrn_vm_factory",
    "pytest_addoption", "pytest_collection_modifyitems", "pytest_configure",
    "pytest_report_header", "pytest_runtest_makereport", "pytest_runtest_setup",
]
