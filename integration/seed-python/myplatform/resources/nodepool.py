"""Agnostic nodepool."""

from myplatform.core import add_definition


def add_nodepool(composition, name, external_name=None, template=None, uses=None):
    add_definition(composition, "nodepool", "nodepool", "NodePool", name, external_name, template, uses)
