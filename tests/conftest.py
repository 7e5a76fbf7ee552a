"""Shared pytest fixtures."""

import os
import sys

import pytest


@pytest.fixture
def netns_lab():
    """A NetnsLab (dhcp6.testing.netns) for one test; everything it made is removed after."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("needs root and Linux network namespaces")
    from dhcp6.testing.netns import NetnsLab

    with NetnsLab() as lab:
        yield lab
